"""``python tests/bench/run.py [--quick]``: start every target, drive them with wrk, probe TTFT, time the events."""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo root importable so siblings are tests.bench.*
    sys.path[0] = str(Path(__file__).resolve().parents[2])

import argparse
import importlib.metadata
import logging
import os
import platform
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from tests.bench import litellm_target, pipeline, report, targets, tollway_target, wrk
from tests.bench.infra import Infra
from tests.bench.measure import BEGAN, FULL, QUICK, Plan, measure_all, measure_idle, probe_all, say
from tests.bench.processes import ROOT, StartError, Supervisor, free_port, reachable, wait_port
from tests.bench.report import Idle, Report, Row, TtftRow
from tests.bench.targets import Target

RESULTS = ROOT / "tests" / "bench" / "results"
ORDER = ("direct", "floor", "tollway", "litellm")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tests/bench/run.py", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="about a minute: 1 repetition, short runs, fewer modes")
    parser.add_argument("--workers", type=int, default=1, help="worker processes per server (every target)")
    parser.add_argument("--skip-pipeline", action="store_true", help="HTTP targets only")
    return parser.parse_args()


def start_targets(sup: Supervisor, plan: Plan, run_dir: Path, infra: Infra) -> list[Target]:
    """The fake upstream first, then the floor, Tollway and LiteLLM in parallel; a failure becomes a failed target."""
    direct = guarded("direct", "fake upstream", lambda: targets.start_fakellm(sup, free_port(), plan.workers))
    if direct.error:
        return [direct, *(targets.failed(name, name, "the fake upstream did not start") for name in ORDER[1:])]
    starters: dict[str, Callable[[], Target]] = {
        "floor": lambda: targets.start_floor(sup, free_port(), plan.workers, direct.base_url),
        "tollway": lambda: tollway_target.start(sup, stack_config(plan, run_dir, infra, direct.base_url)),
        "litellm": lambda: litellm_target.start(sup, free_port(), plan.workers, direct.base_url, run_dir),
    }
    pool = ThreadPoolExecutor(max_workers=len(starters))
    try:
        futures = {name: pool.submit(guarded, name, name, start) for name, start in starters.items()}
        return [direct, *(result(futures[name]) for name in ORDER[1:])]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def result(future: Future[Target]) -> Target:
    return future.result()


def guarded(name: str, label: str, start: Callable[[], Target]) -> Target:
    say(f"starting {name}")
    try:
        target = start()
    except (StartError, OSError, KeyError, ValueError) as error:
        say(f"{name} FAILED to start: {error}")
        return targets.failed(name, label, str(error))
    say(f"{name} is up at {target.base_url}")
    return target


def stack_config(plan: Plan, run_dir: Path, infra: Infra, upstream: str) -> tollway_target.StackConfig:
    return tollway_target.StackConfig(
        upstream=upstream,
        workers=plan.workers,
        run_dir=run_dir / "stack",
        infra=infra,
        database="tollway_bench",
        grant_micros=500_000_000,
        idempotency_key=f"bench-{run_dir.name}",
    )


def ensure_nats(sup: Supervisor, infra: Infra, run_dir: Path) -> None:
    """An embedded JetStream server for the whole run when none listens (the stack would stop its own)."""
    parts = urlsplit(infra.nats)
    host, port = parts.hostname or "127.0.0.1", parts.port or 4222
    binary = ROOT / ".venv" / "bin" / "nats-server"
    if reachable(host, port) or not binary.exists():
        return
    argv = [str(binary), "-js", "-a", host, "-p", str(port), "-sd", str(run_dir / "nats")]
    wait_port(host, port, sup.start("nats", argv), 15)


def versions() -> dict[str, str]:
    def dist(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "missing"

    return {
        "python": platform.python_version(),
        "granian": dist("granian"),
        "aiohttp": dist("aiohttp"),
        "litellm": litellm_target.VERSION,
        "wrk": wrk.wrk_version(),
        "kernel": platform.release(),
    }


def machine() -> dict[str, object]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {"cores": os.cpu_count(), "cpu": model, "loadavg_start": list(os.getloadavg())}


Measured = tuple[list[Target], list[Row], list[TtftRow], Idle | None]


def http_phase(sup: Supervisor, plan: Plan, run_dir: Path, infra: Infra) -> Measured:
    ensure_nats(sup, infra, run_dir)
    started = start_targets(sup, plan, run_dir, infra)
    rows = measure_all(plan, started)
    probes = probe_all(plan, started)
    idle = measure_idle(plan, started)
    sup.stop(*[c for c in sup.children if c.name != "nats"])  # free the CPU before the event pipeline
    return started, rows, probes, idle


def event_phase(sup: Supervisor, plan: Plan, infra: Infra) -> pipeline.PipelineResult:
    say(f"event pipeline: {plan.events:,} events")
    try:
        return pipeline.run(sup, pipeline.PipelineConfig(infra=infra, events=plan.events, workers=plan.workers))
    except Exception as error:  # a broken pipeline is reported as such; the HTTP results still get written
        say(f"event pipeline FAILED: {type(error).__name__}: {error}")
        return pipeline.PipelineResult(
            events=plan.events, method=pipeline.METHOD, error=f"{type(error).__name__}: {error}"
        )


def write(built: Report, run_dir: Path) -> Path:
    """JSON + markdown into the run's raw folder; a full run also into ``results/`` (committed) and README.md."""
    report.derive(built)
    body, text = report.to_json(built), report.markdown(built)
    folders = [run_dir] if built.quick else [run_dir, RESULTS]
    for folder in folders:
        (folder / "latest.json").write_bytes(body)
        (folder / "latest.md").write_text(text)
    if not built.quick and report.update_readme(ROOT / "README.md", report.summary_markdown(built)):
        say("README.md Performance section updated")
    sys.stdout.write("\n" + text)
    return folders[-1] / "latest.md"


def main() -> int:
    args = parse_args()
    plan = replace(QUICK if args.quick else FULL, workers=args.workers)
    if wrk.wrk_binary() is None:
        say(f"wrk is missing; install it: {wrk.INSTALL}")
        return 2
    logging.basicConfig(level=logging.ERROR)
    run_dir = RESULTS / "raw" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    infra, info = Infra.from_env(), machine()
    with Supervisor(run_dir / "logs") as sup:
        started, rows, probes, idle = http_phase(sup, plan, run_dir, infra)
        http_s = time.monotonic() - BEGAN
        events = None if args.skip_pipeline else event_phase(sup, plan, infra)
    seconds = {"http": round(http_s, 1), "total": round(time.monotonic() - BEGAN, 1)}
    built = Report(
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        quick=plan.quick,
        plan=asdict(plan),
        machine={**info, "loadavg_end": list(os.getloadavg()), "seconds": seconds},
        versions=versions(),
        targets={t.name: {"label": t.label, "error": t.error, "notes": t.notes} for t in started},
        rows=rows,
        ttft=probes,
        pipeline=events,
        idle=idle,
    )
    say(f"done; results in {write(built, run_dir)} (logs: {run_dir / 'logs'})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("interrupted; every process the bench started was stopped")
        sys.exit(130)
