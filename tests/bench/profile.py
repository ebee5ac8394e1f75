"""``python tests/bench/profile.py``: py-spy every Tollway process under wrk load and idle; summaries in docs/perf/."""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo root importable so siblings are tests.bench.*
    sys.path[0] = str(Path(__file__).resolve().parents[2])

import argparse
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from tests.bench import targets, tollway_target, wrk
from tests.bench.infra import Infra
from tests.bench.measure import say
from tests.bench.processes import ROOT, Supervisor, free_port
from tests.bench.profile_summary import Profile, render, summarise
from tollway.testing import proctree

PY_SPY = ROOT / ".venv" / "bin" / "py-spy"
OUT = ROOT / "docs" / "perf"
RAW = ROOT / "tests" / "bench" / "results" / "raw"


@dataclass(frozen=True)
class Role:
    """One Tollway process of the stack, named as ``make run`` names it."""

    name: str
    pid: int


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tests/bench/profile.py", description=__doc__)
    parser.add_argument("--load-s", type=float, default=20.0, help="seconds of wrk load per mode")
    parser.add_argument("--idle-s", type=float, default=30.0, help="seconds of an idle stack")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--modes", default="chat,stream", help="wrk scripts to profile, comma-separated")
    parser.add_argument("--workers", type=int, default=1, help="granian workers per server")
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    return parser.parse_args()


def roles_of(roots: list[int]) -> list[Role]:
    """Every ``python -m tollway.<service> <role>`` process under ``roots``, outermost only.

    The shells honcho starts them with are skipped, and so are granian's worker processes: py-spy follows those
    from their server with ``--subprocesses``. fakellm and the mail sink are not Tollway's cost.
    """
    named: dict[int, str] = {}
    for pid in sorted(proctree.tree(roots)):
        words = proctree.cmdline(pid).split()
        if not words or "python" not in words[0].rsplit("/", 1)[-1] or "-m" not in words:
            continue
        module = words[words.index("-m") + 1]
        role = " ".join(words[words.index("-m") + 2 :][:1])
        if module.startswith("tollway.") and module != "tollway.fakellm" and role != "mail-sink":
            named[pid] = f"{module.removeprefix('tollway.')} {role}".strip()
    parents = proctree.parents()
    return [Role(name, pid) for pid, name in named.items() if named.get(parents.get(pid, 0)) != name]


def record(roles: list[Role], seconds: float, rate: int, folder: Path) -> dict[str, Path]:
    """Run one ``py-spy record`` per role for ``seconds``; returns each role's collapsed-stack file."""
    folder.mkdir(parents=True, exist_ok=True)
    spies: list[tuple[Role, Path, subprocess.Popen[bytes]]] = []
    for role in roles:
        path = folder / f"{role.name.replace(' ', '-')}.txt"
        argv = [str(PY_SPY), "record", "--pid", str(role.pid), "--duration", str(round(seconds)), "--rate"]
        argv += [str(rate), "--format", "raw", "--subprocesses", "--nonblocking", "--output", str(path)]
        spies.append((role, path, subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    for _, _, spy in spies:
        spy.wait(timeout=seconds + 60)
    return {role.name: path for role, path, _ in spies if path.exists()}


def cpu_of(roles: list[Role]) -> dict[str, float]:
    return {role.name: proctree.cpu_seconds([role.pid]) for role in roles}


def phase(
    name: str, roles: list[Role], seconds: float, rate: int, folder: Path, load: wrk.Load | None
) -> list[Profile]:
    """Profile every role for one phase (under ``load``, or idle) and summarise what each spent its CPU on."""
    say(f"profiling: {name} ({seconds:.0f} s)")
    before, started = cpu_of(roles), time.monotonic()
    outcome: wrk.WrkResult | None = None
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(record, roles, seconds, rate, folder / name)
        if load is not None:
            time.sleep(1.0)  # wrk starts after the profilers and ends before them, so every request is sampled
            outcome = wrk.run(load)
        files = future.result()
    wall = time.monotonic() - started
    after = cpu_of(roles)
    requests = outcome.requests if outcome else 0
    return [
        summarise(name, role.name, files.get(role.name), after[role.name] - before[role.name], wall, requests)
        for role in roles
    ]


def main() -> None:
    args = parse_args()
    stamp = datetime.now(UTC)
    folder = RAW / f"profile-{stamp:%Y%m%dT%H%M%SZ}"
    infra = Infra.from_env()
    with Supervisor(folder / "logs") as sup:
        direct = targets.start_fakellm(sup, free_port(), args.workers)
        config = tollway_target.StackConfig(
            upstream=direct.base_url,
            workers=args.workers,
            run_dir=folder / "stack",
            infra=infra,
            database="tollway_bench_profile",
            grant_micros=1_000_000_000_000,
            idempotency_key=f"profile-{stamp:%Y%m%dT%H%M%S}",
        )
        target = tollway_target.start(sup, config)
        stack_roots = target.stack_roots() if target.stack_roots else []
        roles = roles_of(stack_roots)  # the stack's roles and any worker the bench started beside it
        say(f"roles: {', '.join(role.name for role in roles)}")
        profiles: list[Profile] = []
        for mode in args.modes.split(","):
            env = {"BENCH_MODEL": target.models[mode], "BENCH_AUTHORIZATION": target.authorization}
            load = wrk.Load(target.base_url, mode, args.connections, args.load_s, env)
            wrk.run(replace(load, duration_s=3))  # warm-up: pools, caches and the JIT-less interpreter's first calls
            profiles += phase(f"load-{mode}", roles, args.load_s + 2, args.rate, folder, load)
        time.sleep(5)  # the consumers drain what the load left before the idle window opens
        profiles += phase("idle", roles, args.idle_s, args.rate, folder, None)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "profiles.md"
    path.write_text(render(profiles, stamp, args))
    say(f"wrote {path.relative_to(ROOT)} (raw stacks: {folder.relative_to(ROOT)})")


if __name__ == "__main__":
    main()
