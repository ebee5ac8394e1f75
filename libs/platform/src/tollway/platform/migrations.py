"""Running one service's Alembic environment from code (the ``migrate`` role, tests, ``make db-upgrade``)."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config

INI_ENV = "TOLLWAY_ALEMBIC_INI"


def find_alembic_ini() -> Path:
    """``$TOLLWAY_ALEMBIC_INI``, else ``migrations/alembic.ini`` in the working directory or above it."""
    if explicit := os.environ.get(INI_ENV):
        return Path(explicit)
    for folder in (Path.cwd(), *Path.cwd().parents, *Path(__file__).resolve().parents):
        candidate = folder / "migrations" / "alembic.ini"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"migrations/alembic.ini not found; set {INI_ENV}")


def alembic_config(service: str, database_url: str | None = None) -> Config:
    """The Alembic config of ``service`` (its own ini section), optionally pointed at ``database_url``."""
    config = Config(str(find_alembic_ini()), ini_section=service)
    if database_url:
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(service: str, database_url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, database_url), revision)


def downgrade(service: str, database_url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(service, database_url), revision)


def check(service: str, database_url: str | None = None) -> None:
    """Fail when the models and the migrations disagree (``alembic check``)."""
    command.check(alembic_config(service, database_url))
