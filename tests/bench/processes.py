"""Child processes of the bench: each in its own session, logged to a file, stopped by PID with its whole tree."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from tollway.testing import proctree

ROOT = Path(__file__).resolve().parents[2]


class StartError(RuntimeError):
    """A child did not come up; the message says why (and where its log is)."""


@dataclass
class Child:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    stop_signal: int = signal.SIGTERM

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 5) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


@dataclass
class Supervisor:
    """Starts children and stops every one of them (reverse order) on exit, Ctrl-C, SIGTERM or failure."""

    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def __enter__(self) -> Supervisor:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGINT too: a background shell ignores it
            signal.signal(signum, _interrupt)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str | None] | None = None,
        cwd: Path = ROOT,
        stop_signal: int = signal.SIGTERM,
    ) -> Child:
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=child_env(env or {}),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        child = Child(name, popen, log, stop_signal)
        self.children.append(child)
        return child

    def stop(self, *children: Child, grace_s: float = 10.0) -> None:
        """Signal every child's tree at once, then wait for all of them together."""
        for child in children:
            if child in self.children:
                self.children.remove(child)
        stop_trees(children, grace_s)

    def stop_all(self) -> None:
        self.stop(*reversed(self.children))


def child_env(changes: Mapping[str, str | None]) -> dict[str, str]:
    """This process's environment with ``changes`` applied (``None`` removes a variable)."""
    env = dict(os.environ)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def stop_trees(children: Sequence[Child], grace_s: float) -> None:
    """Signal each child's group, wait, then SIGKILL every process left of the trees they had (by PID + start time)."""
    known: dict[int, int] = {}
    for child in children:
        known |= proctree.identities(proctree.tree([child.pid]))
        _signal_group(child.pid, child.stop_signal)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        running = [child for child in children if child.alive()]  # alive() also reaps the ones that ended
        if not running and not proctree.still_running(known):
            break
        time.sleep(0.1)
    for pid in proctree.still_running(known):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for child in children:
        try:
            child.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.popen.kill()


def _signal_group(pid: int, signum: int) -> None:
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


def wait_port(host: str, port: int, child: Child, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not reachable(host, port):
        if not child.alive() or time.monotonic() > deadline:
            raise StartError(f"{child.name} is not listening on {host}:{port}: {child.tail()}")
        time.sleep(0.2)


def wait_http(url: str, child: Child, timeout_s: float) -> None:
    """Poll ``url`` until it answers (any HTTP status); fail early when the child exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not child.alive():
            raise StartError(f"{child.name} exited ({child.popen.returncode}): {child.tail()} [log: {child.log}]")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - 127.0.0.1 only
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.25)
    raise StartError(f"{child.name} did not answer {url} within {timeout_s:.0f}s [log: {child.log}]")


def wait_line(child: Child, needles: Sequence[str], timeout_s: float) -> str:
    """Wait until the child's log holds one of ``needles``; return the needle seen."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = child.log.read_text(errors="replace") if child.log.exists() else ""
        for needle in needles:
            if needle in text:
                return needle
        if not child.alive():
            raise StartError(f"{child.name} exited ({child.popen.returncode}): {child.tail()} [log: {child.log}]")
        time.sleep(0.25)
    raise StartError(f"{child.name}: none of {list(needles)} within {timeout_s:.0f}s [log: {child.log}]")
