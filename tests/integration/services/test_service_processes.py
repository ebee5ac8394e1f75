"""Each service's real ``serve`` process answers /health, /ready (per dependency) and /metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from tollway.testing.infra import SERVICES, LocalInfra
from tollway.testing.namespaces import purge_namespace
from tollway.testing.processes import ManagedProcess, free_port, service_env, service_process

EXPECTED_CHECKS = {
    "gateway": {"postgres", "nats", "redis", "catalog", "balances"},
    "inference_router": {"postgres", "nats", "redis", "usage_buffer"},
    "billing": {"postgres", "nats"},
    "analytics": {"postgres", "nats"},
    "error_monitor": {"postgres", "nats"},
}


@pytest.fixture
def serving(request: pytest.FixtureRequest, migrated_database_url: str, test_infra: LocalInfra) -> Iterator[str]:
    service: str = request.param
    port = free_port()
    env = service_env(
        service,
        database_url=migrated_database_url,
        nats_url=test_infra.nats_url,
        redis_url=test_infra.redis_url,
        namespace=f"svc{port}",
        port=str(port),
    )
    helpers = _router_for_gateway(env, port, migrated_database_url, test_infra) if service == "gateway" else []
    process = service_process(service, "serve", env).start()
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process)
        yield base
    finally:
        for running in (process, *helpers):
            running.stop()
        asyncio.run(purge_namespace(test_infra.nats_url, test_infra.redis_url, f"svc{port}"))


def _router_for_gateway(
    env: dict[str, str], port: int, database_url: str, test_infra: LocalInfra
) -> list[ManagedProcess]:
    """The gateway is ready only once it holds the router's catalogue, so it gets a router of its own."""
    router_port = free_port()
    router_env = service_env(
        "inference_router",
        database_url=database_url,
        nats_url=test_infra.nats_url,
        redis_url=test_infra.redis_url,
        namespace=f"svc{port}",
        port=str(router_port),
    )
    env["GATEWAY_ROUTER_URL"] = f"http://127.0.0.1:{router_port}"
    router = service_process("inference_router", "serve", router_env).start()
    _wait_ready(f"http://127.0.0.1:{router_port}", router)
    return [router]


def _wait_ready(base: str, process: ManagedProcess, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive:
            raise AssertionError(f"{process.name} exited:\n{process.output()}")
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{process.name} not ready in {timeout}s:\n{process.output()}")


@pytest.mark.parametrize("serving", SERVICES, indirect=True)
async def test_health_ready_and_metrics(serving: str, request: pytest.FixtureRequest) -> None:
    service = request.node.callspec.params["serving"]
    async with httpx.AsyncClient(base_url=serving) as client:
        health, ready, metrics, missing = await asyncio.gather(
            client.get("/health"), client.get("/ready"), client.get("/metrics"), client.get("/no-such-route")
        )
    assert health.json() == {"status": "ok", "service": service}
    body = ready.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == EXPECTED_CHECKS[service]
    assert set(body["checks"].values()) == {"ok"}
    assert metrics.status_code == 200
    assert "python_gc_objects_collected_total" in metrics.text
    assert missing.status_code == 404
    assert "Traceback" not in missing.text


async def test_ready_is_503_naming_the_dependency_that_is_down(test_infra: LocalInfra) -> None:
    port = free_port()
    env = service_env(
        "billing",
        database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none",
        nats_url=test_infra.nats_url,
        redis_url=test_infra.redis_url,
        namespace=f"svc{port}",
        port=str(port),
    )
    process = service_process("billing", "serve", env).start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            response = await _first_answer(client, "/ready")
            assert response is not None, process.output()
            assert response.status_code == 503
            body = response.json()
            assert body["status"] == "not_ready"
            assert body["checks"]["nats"] == "ok"
            assert body["checks"]["postgres"] != "ok"
            assert (await client.get("/health")).status_code == 200
    finally:
        process.stop()
        await purge_namespace(test_infra.nats_url, test_infra.redis_url, f"svc{port}")


async def _first_answer(client: httpx.AsyncClient, path: str, within: float = 30) -> httpx.Response | None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            return await client.get(path)
        except httpx.HTTPError:
            await asyncio.sleep(0.2)
    return None
