"""Alembic environment of error_monitor: only the `error_monitor` schema, version table inside it."""

from tollway.error_monitor.db.tables import metadata
from tollway.platform.alembic_env import run_migrations

run_migrations(metadata, schema="error_monitor", url_env="ERROR_MONITOR_DATABASE_URL")
