"""``python tests/bench/soak.py``: chat at half the measured saturation for 30 minutes; each process's RSS."""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo root importable so siblings are tests.bench.*
    sys.path[0] = str(Path(__file__).resolve().parents[2])

import argparse
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from tests.bench import targets, tollway_target, wrk
from tests.bench.infra import Infra
from tests.bench.measure import say
from tests.bench.processes import ROOT, Supervisor, free_port
from tests.bench.profile import Role, roles_of
from tollway.testing import proctree

RESULTS = ROOT / "tests" / "bench" / "results"
PAGE = 4096


@dataclass
class Soak:
    saturation_rps: float = 0.0
    offered_rps: float = 0.0
    served: int = 0
    errors: int = 0
    samples: list[tuple[float, dict[str, int]]] = field(default_factory=list)  # (minute, RSS KiB per role)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tests/bench/soak.py", description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--warmup-minutes", type=float, default=3.0, help="RSS is compared from here on")
    parser.add_argument("--every-s", type=float, default=30.0, help="seconds between RSS samples")
    parser.add_argument("--connections", type=int, default=8)
    return parser.parse_args()


def rss_kib(pid: int) -> int:
    """Resident set of a process and its descendants (granian's workers live under their server)."""
    total = 0
    for member in proctree.tree([pid]):
        try:
            pages = int(Path(f"/proc/{member}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        total += pages * PAGE // 1024
    return total


def sample(roles: list[Role]) -> dict[str, int]:
    return {role.name: rss_kib(role.pid) for role in roles}


def saturation(target: targets.Target) -> float:
    env = {"BENCH_MODEL": target.models["chat"], "BENCH_AUTHORIZATION": target.authorization}
    load = wrk.Load(target.base_url, "chat", 16, 10, env)
    wrk.run(replace(load, duration_s=3))
    return wrk.run(load).rps


def drive(target: targets.Target, soak: Soak, args: argparse.Namespace, seconds: float) -> None:
    delay_ms = 1000 * args.connections / soak.offered_rps
    env = {
        "BENCH_MODEL": target.models["chat"],
        "BENCH_AUTHORIZATION": target.authorization,
        "BENCH_DELAY_MS": f"{delay_ms:.0f}",
    }
    outcome = wrk.run(wrk.Load(target.base_url, "paced", args.connections, seconds, env))
    soak.served, soak.errors = outcome.requests, outcome.errors


def run(args: argparse.Namespace) -> Soak:
    stamp, soak = datetime.now(UTC), Soak()
    folder = RESULTS / "raw" / f"soak-{stamp:%Y%m%dT%H%M%SZ}"
    with Supervisor(folder / "logs") as sup:
        direct = targets.start_fakellm(sup, free_port(), 1)
        config = tollway_target.StackConfig(
            upstream=direct.base_url,
            workers=1,
            run_dir=folder / "stack",
            infra=Infra.from_env(),
            database="tollway_bench_soak",
            grant_micros=1_000_000_000_000,
            idempotency_key=f"soak-{stamp:%Y%m%dT%H%M%S}",
        )
        target = tollway_target.start(sup, config)
        roles = roles_of(target.stack_roots() if target.stack_roots else [])
        soak.saturation_rps = saturation(target)
        soak.offered_rps = soak.saturation_rps / 2
        say(f"saturation {soak.saturation_rps:,.0f} req/s; soaking at {soak.offered_rps:,.0f} for {args.minutes} min")
        seconds = args.minutes * 60
        driver = threading.Thread(target=drive, args=(target, soak, args, seconds), daemon=True)
        began = time.monotonic()
        driver.start()
        while driver.is_alive():
            soak.samples.append(((time.monotonic() - began) / 60, sample(roles)))
            driver.join(timeout=args.every_s)
    return soak


def markdown(soak: Soak, args: argparse.Namespace) -> str:
    base = next((rss for minute, rss in soak.samples if minute >= args.warmup_minutes), soak.samples[0][1])
    last = soak.samples[-1][1]
    lines = [
        "# Tollway soak",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: chat at half the measured saturation "
        f"({soak.offered_rps:,.0f} of {soak.saturation_rps:,.0f} req/s) over {args.connections} connections for "
        f"{args.minutes:.0f} min; {soak.served:,} requests served, {soak.errors} errors. RSS (KiB, the process and "
        f"its workers) after {args.warmup_minutes:.0f} min of warm-up against the end; the target is within ±5%.",
        "",
        "| process | RSS after warm-up | RSS at the end | change | within ±5% |",
        "|---|--:|--:|--:|:-:|",
    ]
    for name, start in base.items():
        end = last.get(name, 0)
        change = 100 * (end - start) / start if start else float("nan")
        lines.append(f"| {name} | {start:,} | {end:,} | {change:+.1f}% | {'yes' if abs(change) <= 5 else '**no**'} |")
    lines += ["", "RSS over time (KiB):", "", "| minute | " + " | ".join(base) + " |"]
    lines.append("|--:|" + "--:|" * len(base))
    for minute, rss in soak.samples[:: max(1, len(soak.samples) // 20)]:
        lines.append(f"| {minute:.1f} | " + " | ".join(f"{rss.get(n, 0):,}" for n in base) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    args = parse_args()
    soak = run(args)
    path = RESULTS / "soak.md"
    path.write_text(markdown(soak, args))
    say(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
