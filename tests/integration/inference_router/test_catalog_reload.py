# ruff: noqa: E501 - the catalogue reads best one model per line
"""Catalogue refresh: two router replicas; a refresh on one reloads both; a bad file is refused and changes nothing."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tollway.testing.infra import LocalInfra
from tollway.testing.namespaces import purge_namespace
from tollway.testing.processes import ManagedProcess
from tollway.testing.stack import RouterUnderTest, router_env, start_fakellm, start_router, write_catalog

BASE = """
providers:
  - {id: a, kind: openai_compatible, base_url: http://127.0.0.1:8090/v1}
models:
  - {id: one, context_window: 8000, max_output_tokens: 100, prices: &p {input: 1, output: 1, cache_read: 0, cache_write: 0},
     deployments: [{provider: a, upstream_model: fake-one}]}
"""
ADDED = (
    BASE
    + """  - {id: two, strategy: least_busy, context_window: 8000, max_output_tokens: 100, prices: *p,
     deployments: [{provider: a, upstream_model: fake-two}]}
"""
)
BODY = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}


@pytest.fixture(scope="module")
def replicas(
    migrated_database_url: str, test_infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RouterUnderTest, RouterUnderTest, Path, str]]:
    processes: list[ManagedProcess] = []
    namespace = f"r{uuid.uuid4().hex[:10]}"
    try:
        fake, upstream = start_fakellm()
        processes.append(fake)
        catalog = write_catalog(BASE, upstream, tmp_path_factory.mktemp("reload"))
        env = router_env(
            database_url=migrated_database_url,
            nats_url=test_infra.nats_url,
            redis_url=test_infra.redis_url,
            namespace=namespace,
        )
        routers = []
        for _ in range(2):
            process, url = start_router(env, catalog, CATALOG_POLL_S="0.2")
            processes.append(process)
            routers.append(RouterUnderTest(url, upstream, namespace, env, catalog))
        yield routers[0], routers[1], catalog, upstream
    finally:
        for process in processes:
            process.stop()
        asyncio.run(purge_namespace(test_infra.nats_url, test_infra.redis_url, namespace))


def _chat(router: RouterUnderTest, model: str) -> int:
    response = httpx.post(
        f"{router.url}/internal/v1/chat", headers=router.headers(), json={"model": model, **BODY}, timeout=10
    )
    return response.status_code


def test_a_refresh_reloads_every_replica(replicas: tuple[RouterUnderTest, RouterUnderTest, Path, str]) -> None:
    first, second, catalog, upstream = replicas
    admin = first.headers(role="admin")
    assert _chat(second, "two") == 404
    catalog.write_text(ADDED.replace("http://127.0.0.1:8090", upstream))

    refreshed = httpx.post(f"{first.url}/internal/v1/catalog/refresh", headers=admin, timeout=10)
    assert refreshed.status_code == 200, refreshed.text
    assert [m["id"] for m in refreshed.json()["models"]] == ["one", "two"]
    assert _chat(first, "two") == 200
    deadline = time.monotonic() + 5
    while _chat(second, "two") != 200:  # the other replica follows within its poll interval
        assert time.monotonic() < deadline, "the second replica never reloaded"
        time.sleep(0.1)
    status = httpx.get(f"{second.url}/internal/v1/catalog/status", headers=admin, timeout=10).json()
    assert (status["generation"], status["last_error"]) == (refreshed.json()["generation"], None)
    assert status["models"][1]["strategy"] == "least_busy"


def test_a_bad_file_is_refused_and_changes_nothing(
    replicas: tuple[RouterUnderTest, RouterUnderTest, Path, str],
) -> None:
    first, _, catalog, _ = replicas
    admin = first.headers(role="admin")
    before = httpx.get(f"{first.url}/internal/v1/catalog/status", headers=admin, timeout=10).json()
    catalog.write_text("providers: []\nmodels: [{id: x}]\n")

    refused = httpx.post(f"{first.url}/internal/v1/catalog/refresh", headers=admin, timeout=10)
    assert refused.status_code == 422
    assert "models[0]" in refused.json()["error"]["message"]
    after = httpx.get(f"{first.url}/internal/v1/catalog/status", headers=admin, timeout=10).json()
    assert after["models"] == before["models"]
    assert (
        httpx.post(f"{first.url}/internal/v1/catalog/refresh", headers=first.headers(), timeout=10).status_code == 403
    )
