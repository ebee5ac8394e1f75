"""Alembic environment of inference_router: only the `inference_router` schema, version table inside it."""

from tollway.inference_router.db.tables import metadata
from tollway.platform.alembic_env import run_migrations

run_migrations(metadata, schema="inference_router", url_env="INFERENCE_ROUTER_DATABASE_URL")
