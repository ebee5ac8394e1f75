"""Reading py-spy's collapsed stacks into per-process summaries: CPU per request, top packages and functions."""

from __future__ import annotations

import argparse
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
# py-spy prints paths relative to their sys.path entry, so Tollway's own modules lose their ``tollway/`` prefix.
TOLLWAY = frozenset(
    {"gateway", "inference_router", "billing", "analytics", "error_monitor", "platform", "contracts", "fakellm"}
)
# Leaves where a process waits, or runs native code py-spy cannot see into: the event loop's poll (uvloop's is C,
# so py-spy sees its Python caller), the plain asyncio loop's selector and granian's Rust runtime. Counted apart,
# so the shares are of the Python work.
WAITING = frozenset(
    {
        "asyncio/runners.py:Runner.run",
        "selectors.py:EpollSelector.select",
        "uvloop/__init__.py:run",
        "granian/server/mp.py:MPServer._spawn_asgi_lifespan_worker",  # granian's Rust runtime and its poll
    }
)
# Frames on every stack of a process (its entry point and run loop): inclusive shares of ~100% that say nothing.
ENTRY = (
    "__main__.py",
    "platform/cli.py",
    "platform/roles.py",
    "platform/runner.py",
    "/worker.py",
    "consumer.py:PullConsumer.run",
    "consumer.py:PullConsumer._consume",
)
TOP = 12


@dataclass(frozen=True)
class Profile:
    phase: str
    role: str
    cpu_s: float
    wall_s: float
    requests: int
    samples: int
    waiting: int = 0  # samples whose leaf is the event loop's wait
    packages: list[tuple[str, float]] = field(default_factory=list)  # (package, share of samples), self time
    functions: list[tuple[str, float]] = field(default_factory=list)  # (function, share), self time
    inclusive: list[tuple[str, float]] = field(default_factory=list)  # (tollway function, share), inclusive


def package_of(module: str) -> str:
    """The top-level package of a py-spy path, Tollway's services told apart (``tollway.gateway``)."""
    top = module.split("/", 1)[0].removesuffix(".py")
    return f"tollway.{top}" if top in TOLLWAY else top


def frame_of(raw: str) -> tuple[str, str]:
    """(``module:function``, module) of one collapsed-stack frame such as ``send (redis/connection.py:12)``."""
    found = _FRAME.match(raw.strip())
    if not found or found["name"].startswith(("process ", "thread ")):
        return raw.strip(), ""
    return f"{found['file']}:{found['name']}", found["file"]


@dataclass
class Tally:
    samples: int = 0
    waiting: int = 0
    packages: Counter[str] = field(default_factory=Counter)
    functions: Counter[str] = field(default_factory=Counter)
    inclusive: Counter[str] = field(default_factory=Counter)

    def add(self, frames: list[tuple[str, str]], count: int) -> None:
        leaf, module = frames[-1]
        if leaf in WAITING:
            self.waiting += count
            return
        self.samples += count
        self.packages[package_of(module)] += count
        self.functions[leaf] += count
        for name in {name for name, module in frames if package_of(module).startswith("tollway.")}:
            if not any(entry in name for entry in ENTRY):
                self.inclusive[name] += count


def parse(path: Path) -> Tally:
    """Busy samples (self time per package and function, inclusive per Tollway function) and waiting ones."""
    tally = Tally()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [(name, module) for name, module in map(frame_of, stack.split(";")) if module]
        if frames:
            tally.add(frames, int(count_text))
    return tally


def shares(counter: Counter[str], samples: int) -> list[tuple[str, float]]:
    return [(name, count / samples) for name, count in counter.most_common(TOP)] if samples else []


def summarise(phase: str, role: str, path: Path | None, cpu_s: float, wall_s: float, requests: int) -> Profile:
    if path is None:
        return Profile(phase, role, cpu_s, wall_s, requests, 0)
    t = parse(path)
    return Profile(
        phase,
        role,
        cpu_s,
        wall_s,
        requests,
        t.samples,
        t.waiting,
        shares(t.packages, t.samples),
        shares(t.functions, t.samples),
        shares(t.inclusive, t.samples),
    )


def render(profiles: list[Profile], stamp: datetime, args: argparse.Namespace) -> str:
    lines = [
        "# Profiles of every Tollway process (py-spy)",
        "",
        f"Made by `make profile` on {stamp:%Y-%m-%d %H:%M} UTC: {args.connections} wrk connections for "
        f"{args.load_s:.0f} s per mode ({args.modes}), then {args.idle_s:.0f} s idle; {args.workers} granian "
        f"worker(s) per server; py-spy at {args.rate} Hz with --nonblocking. Shares are of the samples in which "
        "the process was running Python, leaving out the event loop's wait (counted as *waiting*), self time unless \
marked inclusive. CPU comes from /proc (utime + stime of the process and its children), not from samples.",
    ]
    for phase in dict.fromkeys(profile.phase for profile in profiles):
        lines += render_phase([profile for profile in profiles if profile.phase == phase])
    return "\n".join(lines) + "\n"


def render_phase(profiles: list[Profile]) -> list[str]:
    requests = profiles[0].requests
    lines = ["", f"## {profiles[0].phase}", ""]
    if requests:
        lines += [f"{requests:,} requests in the window.", ""]
    lines += [
        "| process | CPU s | % of one core | CPU ms / request | busy samples | waiting |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for p in sorted(profiles, key=lambda p: -p.cpu_s):
        per_request = f"{1000 * p.cpu_s / requests:.2f}" if requests else "-"
        core = 100 * p.cpu_s / p.wall_s
        lines.append(f"| {p.role} | {p.cpu_s:.2f} | {core:.1f} | {per_request} | {p.samples:,} | {p.waiting:,} |")
    total = sum(p.cpu_s for p in profiles)
    wall = profiles[0].wall_s
    lines.append(
        f"| **all** | {total:.2f} | {100 * total / wall:.1f} | "
        f"{f'{1000 * total / requests:.2f}' if requests else '-'} | |"
    )
    for p in sorted(profiles, key=lambda p: -p.cpu_s):
        if p.samples:
            lines += render_process(p)
    return lines


def render_process(p: Profile) -> list[str]:
    lines = ["", f"### {p.role}", "", "Packages (self): " + ", ".join(f"{n} {s:.0%}" for n, s in p.packages[:8])]
    lines += ["", "| self | function |", "|--:|---|"]
    lines += [f"| {share:.1%} | `{name}` |" for name, share in p.functions]
    if p.inclusive:
        lines += ["", "| inclusive | Tollway function |", "|--:|---|"]
        lines += [f"| {share:.1%} | `{name}` |" for name, share in p.inclusive[:8]]
    return lines
