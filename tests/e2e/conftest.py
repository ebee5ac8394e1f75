"""Every e2e module gets a database of its own: the suites run one after another in one process (``make test``),
and each stack seeds the same demo user, so a shared database would mix one module's grants and debits into the
next one's exact-once checks."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from tollway.testing.infra import LocalInfra
from tollway.testing.postgres import create_migrated_database, drop_database


@pytest.fixture(scope="module")
def migrated_database_url(test_infra: LocalInfra) -> Iterator[str]:
    name = f"tollway_e2e_{uuid.uuid4().hex[:12]}"
    yield create_migrated_database(test_infra.postgres_admin_url, name)
    asyncio.run(drop_database(test_infra.postgres_admin_url, name))
