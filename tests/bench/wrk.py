"""Driving one target with wrk (the Lua scripts in ``lua/``) and reading the JSON line their ``done()`` prints."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent / "lua"
MARKER = "BENCH_RESULT "
INSTALL = "sudo apt-get install -y wrk   (Debian/Ubuntu; macOS: brew install wrk)"


class WrkError(RuntimeError):
    """wrk failed or printed no result line."""


@dataclass(frozen=True)
class Load:
    """One wrk invocation: where, which body script, how many connections, for how long."""

    url: str
    script: str
    connections: int
    duration_s: float
    env: Mapping[str, str]

    @property
    def threads(self) -> int:
        return 1 if self.connections == 1 else 2


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    bytes: int

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0


def wrk_binary() -> str | None:
    return shutil.which("wrk")


def wrk_version() -> str:
    binary = wrk_binary()
    if binary is None:
        return "missing"
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10, check=False)
    return (out.stdout or out.stderr).split(" [", 1)[0].removeprefix("wrk ").strip()


def run(load: Load) -> WrkResult:
    """Run wrk once (bounded by its duration plus a margin) and parse the Lua summary."""
    binary = wrk_binary()
    if binary is None:
        raise WrkError(f"wrk is not installed: {INSTALL}")
    argv = [
        binary,
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{max(1, round(load.duration_s))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_DIR / f"{load.script}.lua"),
        load.url,
    ]
    env = {"PATH": "/usr/bin:/bin", **load.env}
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=load.duration_s + 30, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise WrkError(f"wrk did not finish within {load.duration_s + 30:.0f}s") from None
    return parse(out.stdout, out.stderr)


def parse(stdout: str, stderr: str = "") -> WrkResult:
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line.removeprefix(MARKER))
            return WrkResult(
                requests=data["requests"],
                duration_s=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p90_ms=data["p90_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                max_ms=data["max_us"] / 1000,
                errors=data["status_errors"] + data["socket_errors"],
                bytes=data["bytes"],
            )
    raise WrkError(f"wrk printed no result: {(stderr or stdout).strip()[-300:]}")
