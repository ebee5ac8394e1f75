"""Alembic environment of billing: only the `billing` schema, version table inside it."""

from tollway.billing.db.tables import metadata
from tollway.platform.alembic_env import run_migrations

run_migrations(metadata, schema="billing", url_env="BILLING_DATABASE_URL")
