"""Real service processes wired together for integration and e2e tests: fakellm, router, gateway."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from tollway.platform.identity import Identity, Role, sign_identity
from tollway.testing.namespaces import purge_namespace
from tollway.testing.processes import ManagedProcess, free_port, service_env, service_process

DEV_SECRET = "dev-internal-secret-change-me"
ROOT = Path(__file__).resolve().parents[5]
BANNER = "Tollway is up"
FAKELLM_PORT = 8090  # the stack's fake upstream before its port offset (deploy/local/stack.py)
# An idle machine boots the stack in ~15 s; a 2-core CI machine running other suites beside it took over 60.
STACK_READY_WITHIN_S = 240.0


def wait_http(url: str, process: ManagedProcess, within: float = 45.0) -> None:
    """Poll ``url`` until it answers 200; fail with the process output if it dies or never does."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not process.alive:
            raise AssertionError(f"{process.name} exited:\n{process.output()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{process.name} not ready at {url} in {within}s:\n{process.output()}")


def start_fakellm() -> tuple[ManagedProcess, str]:
    port = free_port()
    process = ManagedProcess("fakellm", [sys.executable, "-m", "tollway.fakellm", "serve", "--port", str(port)]).start()
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/health", process)
    return process, url


def write_catalog(template: str, fakellm_url: str, folder: Path) -> Path:
    """A catalogue whose providers all point at this test's fake upstream."""
    path = folder / "catalog.yaml"
    path.write_text(template.replace("http://127.0.0.1:8090", fakellm_url))
    return path


def start_router(env: Mapping[str, str], catalog: Path, **extra: str) -> tuple[ManagedProcess, str]:
    port = free_port()
    router_env = {**env, **_prefixed("INFERENCE_ROUTER_", {"PORT": str(port), "CATALOG_PATH": str(catalog), **extra})}
    process = service_process("inference_router", "serve", router_env).start()
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/ready", process)
    return process, url


def router_env(*, database_url: str, nats_url: str, redis_url: str, namespace: str) -> dict[str, str]:
    return service_env(
        "inference_router", database_url=database_url, nats_url=nats_url, redis_url=redis_url, namespace=namespace
    )


def signed(identity: Identity, api: str = "openai", secret: str = DEV_SECRET) -> dict[str, str]:
    """Headers the gateway would send the router for ``identity``."""
    return {**sign_identity(identity, secret.encode()), "x-tollway-api": api}


class RouterUnderTest:
    def __init__(self, url: str, upstream: str, namespace: str, env: dict[str, str], catalog: Path) -> None:
        self.url = url
        self.upstream = upstream
        self.namespace = namespace
        self.env = env
        self.catalog = catalog

    def headers(self, request_id: str | None = None, api: str = "openai", role: Role = "user") -> dict[str, str]:
        who = Identity(
            request_id=request_id or f"req_{uuid.uuid4().hex}",
            user_id="usr_1",
            account_id="usr_1",
            api_key_id="key_1",
            role=role,
        )
        return signed(who, api)

    def upstream_calls(self, upstream_model: str) -> int:
        """How often the fake upstream was asked for ``upstream_model`` (exactly as sent)."""
        requests = httpx.get(f"{self.upstream}/_fakellm/stats").json()["requests"]
        return sum(models.get(upstream_model, 0) for models in requests.values())


class RunningStack:
    def __init__(self, offset: int, run_dir: Path, log: Path, ready_after: float, pid: int = 0) -> None:
        self.pid = pid  # the supervisor (deploy/local/stack.py); every role runs under it
        self.offset = offset
        self.run_dir = run_dir
        self.log = log
        self.ready_after = ready_after
        demo = dict(line.split("=", 1) for line in (run_dir / "demo.env").read_text().splitlines() if "=" in line)
        self.base_url = demo["TOLLWAY_BASE_URL"]
        self.api_key = demo["TOLLWAY_API_KEY"]
        self.admin_key = demo["TOLLWAY_ADMIN_KEY"]
        self.user_id = demo["TOLLWAY_DEMO_USER_ID"]
        self.fakellm_url = f"http://127.0.0.1:{FAKELLM_PORT + offset}"


def wait_for_credit(stack: RunningStack, within: float = 30.0) -> None:
    """The demo user's trial credit arrives through gateway outbox → billing → balances bucket → gateway."""
    deadline = time.monotonic() + within
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}], "max_tokens": 5}
    while time.monotonic() < deadline:
        response = httpx.post(
            f"{stack.base_url}/v1/chat/completions",
            json=body,
            headers={"authorization": f"Bearer {stack.api_key}"},
            timeout=10,
        )
        if response.status_code == 200:
            return
        assert response.status_code in (402, 503), response.text
        time.sleep(0.5)
    raise AssertionError("the demo user never got credit")


def _prefixed(prefix: str, values: Mapping[str, str]) -> dict[str, str]:
    return {prefix + key: value for key, value in values.items()}


@contextmanager
def running_stack(
    *,
    database_url: str,
    nats_url: str,
    redis_url: str,
    run_dir: Path,
    args: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
    within: float = STACK_READY_WITHIN_S,
    catalog: str | None = None,
) -> Iterator[RunningStack]:
    """Start ``deploy/local/stack.py`` as ``make run`` does (shifted ports, own namespace) and wait for its banner.

    ``catalog`` is a catalogue for the router instead of ``deploy/config/catalog.yaml``, written (like that one) for
    the fake upstream on ``127.0.0.1:8090``; it is moved to this stack's port.
    Afterwards it is stopped with Ctrl-C, which must end it cleanly: exit 0 or 130, no process of its group left.
    """
    offset = stack_port_offset()
    namespace = f"stack{offset}"
    process_env = {
        **os.environ,
        **(env or {}),
        "TOLLWAY_DATABASE_URL": database_url,
        "TOLLWAY_NATS_URL": nats_url,
        "TOLLWAY_REDIS_URL": redis_url,
        "TOLLWAY_PORT_OFFSET": str(offset),
        "TOLLWAY_NAMESPACE": namespace,
        "TOLLWAY_LOG_LEVEL": "WARNING",
        "TOLLWAY_RUN_DIR": str(run_dir),
    }
    if catalog is not None:
        path = run_dir / "test-catalog.yaml"  # not catalog.yaml: the stack writes its shifted default there
        path.write_text(catalog.replace("127.0.0.1:8090", f"127.0.0.1:{FAKELLM_PORT + offset}"))
        process_env["INFERENCE_ROUTER_CATALOG_PATH"] = str(path)
    log = run_dir / "stack.log"
    started = time.monotonic()
    argv = [sys.executable, str(ROOT / "deploy/local/stack.py"), "--ready-timeout", str(within), *args]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=process_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603
    try:
        _wait_for_banner(process, log, started, within + 30)
        yield RunningStack(offset, run_dir, log, time.monotonic() - started, process.pid)
    finally:
        code = _interrupt(process)
        leftovers = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True, check=False)  # noqa: S603, S607
        asyncio.run(purge_namespace(nats_url, redis_url, namespace))
    assert code in (0, 130), _tail(log)
    assert leftovers.stdout.strip() == ""


# The ports a stack shifts by its offset (deploy/local/stack.py): the mail sink, each service and up to three
# replicas of it (+100 each), the fake upstream.
STACK_PORTS = (2525, *(port + 100 * r for port in range(8080, 8085) for r in range(4)), FAKELLM_PORT)


def stack_port_offset() -> int:
    """An offset whose shifted ports are all free and below the kernel's ephemeral range (from 32768).

    Every other test's ``free_port()`` lands in that range: a stack port once picked there was taken by another
    test's server between the pick and the bind, and a service died at boot.
    """
    rng = random.SystemRandom()
    for _ in range(200):
        offset = rng.randrange(10_000 - min(STACK_PORTS), 32_000 - max(STACK_PORTS))
        if all(_port_free(port + offset) for port in STACK_PORTS):
            return offset
    raise AssertionError("no free range of ports for a stack below 32000")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_for_banner(process: subprocess.Popen[bytes], log: Path, started: float, within: float) -> None:
    while BANNER not in log.read_text() and time.monotonic() - started < within:
        assert process.poll() is None, _tail(log)
        time.sleep(0.5)
    assert BANNER in log.read_text(), _tail(log)


def _interrupt(process: subprocess.Popen[bytes]) -> int:
    """Ctrl-C the stack; a stack that does not stop within 30 s is killed, group and all, and reported as -9."""
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the stack's own process group, nothing else
        process.wait(10)
        return -9


def _tail(log: Path) -> str:
    return log.read_text()[-8_000:]
