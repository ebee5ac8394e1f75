"""Alembic environment of gateway: only the `gateway` schema, version table inside it."""

import tollway.gateway.db.chat_tables  # noqa: F401  (registers the chat tables on the gateway metadata)
from tollway.gateway.db.tables import metadata
from tollway.platform.alembic_env import run_migrations

run_migrations(metadata, schema="gateway", url_env="GATEWAY_DATABASE_URL")
