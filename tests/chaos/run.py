"""``make chaos``: every fault (Postgres, Redis, NATS, and a SIGKILL of each role) under steady SDK load.

Prints the table and writes it to tests/chaos/results/latest.md; exits 1 when the bar is missed (anything lost or
doubled, a 5xx other than 503 with Retry-After, a fault not recovered from within 10 s, billing verify not clean).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from tollway.testing.chaos import FULL, SHORT, ChaosStack, Report, chaos_stack, drill
from tollway.testing.infra import LocalInfra
from tollway.testing.postgres import create_migrated_database
from tollway.testing.processes import assert_billing_verifies, service_env

RESULTS = Path(__file__).parent / "results"
os.environ.setdefault("TOLLWAY_ENV", "development")  # a drill on a developer's machine, with its secrets


async def run(chaos: ChaosStack, short: bool, window_s: float) -> Report:
    report = await drill(chaos, SHORT if short else FULL, window_s=window_s)
    env = service_env(
        "billing",
        database_url=chaos.database_url,
        nats_url=chaos.nats.url,
        redis_url=chaos.redis.url,
        namespace=f"stack{chaos.stack.offset}",
    )
    try:
        await assert_billing_verifies(env)
    except AssertionError as exc:
        report.problems.append(f"billing verify: {exc}")
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the infrastructure faults and two role kills only")
    parser.add_argument("--window", type=float, default=5.0, help="seconds of load after each fault recovers")
    args = parser.parse_args()
    infra = LocalInfra.from_env()
    database_url = create_migrated_database(infra.postgres_admin_url, "tollway_chaos")
    started = time.monotonic()
    with chaos_stack(database_url, Path(tempfile.mkdtemp(prefix="tollway-chaos-"))) as chaos:
        report = asyncio.run(run(chaos, args.short, args.window))
    verdict = "PASS" if not report.problems else "FAIL:\n" + "\n".join(f"- {p}" for p in report.problems)
    text = f"{report.table()}\n\n{verdict}\n\n(took {time.monotonic() - started:.0f} s)\n"
    sys.stdout.write(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text(f"# make chaos{' --short' if args.short else ''}\n\n{text}")
    return 0 if not report.problems else 1


if __name__ == "__main__":
    sys.exit(main())
