"""One whole stack per module, started exactly as ``make run`` starts it (shifted ports, own namespace)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tollway.testing.infra import LocalInfra
from tollway.testing.namespaces import purge_namespace
from tollway.testing.processes import free_port
from tollway.testing.stack import RunningStack

ROOT = Path(__file__).resolve().parents[3]


@contextmanager
def running_stack(database_url: str, infra: LocalInfra, run_dir: Path, *args: str) -> Iterator[RunningStack]:
    """Start the stack, wait for its banner (at most 60 s), and check it stops cleanly on Ctrl-C afterwards."""
    offset = free_port() % 20_000 + 20_000 - 8080
    env = {
        **os.environ,
        "TOLLWAY_DATABASE_URL": database_url,
        "TOLLWAY_NATS_URL": infra.nats_url,
        "TOLLWAY_REDIS_URL": infra.redis_url,
        "TOLLWAY_PORT_OFFSET": str(offset),
        "TOLLWAY_NAMESPACE": f"stack{offset}",
        "TOLLWAY_LOG_LEVEL": "WARNING",
        "TOLLWAY_RUN_DIR": str(run_dir),
    }
    log = run_dir / "stack.log"
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "deploy/local/stack.py"), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        while "Tollway is up" not in log.read_text() and time.monotonic() - started < 60:
            assert process.poll() is None, log.read_text()
            time.sleep(0.5)
        assert "Tollway is up" in log.read_text(), log.read_text()
        yield RunningStack(offset, run_dir, log, time.monotonic() - started)
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(30)
        leftovers = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True, check=False)
        asyncio.run(purge_namespace(infra.nats_url, infra.redis_url, f"stack{offset}"))
    assert code in (0, 130), log.read_text()
    assert leftovers.stdout.strip() == ""


@pytest.fixture(scope="module")
def stack(
    migrated_database_url: str, test_infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    """The stack exactly as ``make run`` starts it."""
    with running_stack(migrated_database_url, test_infra, tmp_path_factory.mktemp("stack")) as started:
        yield started


@pytest.fixture(scope="module")
def stack_without_workers(
    migrated_database_url: str, test_infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    """The stack minus billing's and analytics' workers, which the test runs (and kills) itself."""
    run_dir = tmp_path_factory.mktemp("stack")
    args = ("--without", "billing.worker", "--without", "analytics.worker")
    with running_stack(migrated_database_url, test_infra, run_dir, *args) as started:
        yield started
