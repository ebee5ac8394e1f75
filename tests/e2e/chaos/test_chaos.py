"""``make chaos``, shortened: Postgres, Redis and NATS faults and two role kills under steady SDK load.

The bar is the long form's (nothing lost, nothing doubled, no 5xx but a 503 with Retry-After, ``billing verify``
clean afterwards) but for recovery: 45 s here instead of 10, because in ``make test`` another stack boots on the
other core while a killed role restarts. ``make chaos`` holds the 10 s and its table is the README's figure.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tollway.testing.chaos import SHORT, ChaosStack, chaos_stack, drill
from tollway.testing.processes import assert_billing_verifies, service_env

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def chaos(migrated_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosStack]:
    with chaos_stack(migrated_database_url, tmp_path_factory.mktemp("chaos")) as started:
        yield started


async def test_infrastructure_faults_and_role_kills_lose_and_double_nothing(chaos: ChaosStack) -> None:
    report = await drill(chaos, SHORT, window_s=3.0, recovery_bar_s=45.0)
    sys.stdout.write(report.table() + "\n")

    assert report.answered > 100
    assert report.problems == [], report.table()
    await assert_billing_verifies(
        service_env(
            "billing",
            database_url=chaos.database_url,
            nats_url=chaos.nats.url,
            redis_url=chaos.redis.url,
            namespace=f"stack{chaos.stack.offset}",
        )
    )
