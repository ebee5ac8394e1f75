"""A real fakellm server (granian, one worker so /_fakellm/stats sees every request) for the whole session."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

STARTUP_TIMEOUT_S = 20.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"fakellm exited with {process.returncode} before becoming healthy")
        try:
            if httpx.get(f"{url}/health", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("fakellm did not become healthy in time")


def _stop(process: subprocess.Popen[bytes]) -> None:
    # The server runs in its own session; signal that group so granian's worker goes too.
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="session")
def fakellm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log_path: Path = tmp_path_factory.mktemp("fakellm") / "server.log"
    command = [sys.executable, "-m", "tollway.fakellm", "serve", "--port", str(port), "--workers", "1"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("FAKELLM_")}
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        _stop(process)


@pytest.fixture
def stats_reset(fakellm_url: str) -> None:
    httpx.post(f"{fakellm_url}/_fakellm/reset").raise_for_status()
