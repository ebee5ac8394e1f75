"""Alembic environment of analytics: only the `analytics` schema, version table inside it."""

from tollway.analytics.db.tables import metadata
from tollway.platform.alembic_env import run_migrations

run_migrations(metadata, schema="analytics", url_env="ANALYTICS_DATABASE_URL")
