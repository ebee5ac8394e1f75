"""The stack exactly as ``make run`` starts it, for the accounts journey (shifted ports, own namespace)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tollway.testing.infra import LocalInfra
from tollway.testing.stack import RunningStack, running_stack


@pytest.fixture(scope="module")
def stack(
    migrated_database_url: str, test_infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    with running_stack(
        database_url=migrated_database_url,
        nats_url=test_infra.nats_url,
        redis_url=test_infra.redis_url,
        run_dir=tmp_path_factory.mktemp("stack"),
    ) as started:
        yield started
