# ruff: noqa: E501 - the catalogue reads best one model per line
"""A real fake upstream and a real router process (with a catalogue made for failure scenarios) per module."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from nats.aio.client import Client as NatsClient

from tests.integration.inference_router.usage_events import UsageEvents
from tollway.testing.infra import LocalInfra
from tollway.testing.namespaces import purge_namespace
from tollway.testing.processes import ManagedProcess
from tollway.testing.stack import RouterUnderTest, router_env, start_fakellm, start_router, write_catalog

CATALOG = """
providers:
  - {id: primary, kind: openai_compatible, base_url: http://127.0.0.1:8090/v1}
  - {id: backup, kind: openai_compatible, base_url: http://127.0.0.1:8090/v1}
  - {id: claude, kind: anthropic, base_url: http://127.0.0.1:8090}
models:
  - {id: ok, context_window: 8000, max_output_tokens: 1000, prices: &p {input: 150000, output: 600000, cache_read: 75000, cache_write: 150000},
     deployments: [{provider: primary, upstream_model: fake-ok}]}
  - {id: claude-ok, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{provider: claude, upstream_model: fake-claude}]}
  - {id: fb-500, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{provider: primary, upstream_model: "fake-a+status=500"}, {provider: backup, upstream_model: fake-a}]}
  - {id: fb-503, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{provider: primary, upstream_model: "fake-b+status=503"}, {provider: claude, upstream_model: fake-b}]}
  - {id: fb-429, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{provider: primary, upstream_model: "fake-c+status=429+retry_after=30"},
                   {provider: backup, upstream_model: fake-c}]}
  - {id: all-429, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{provider: primary, upstream_model: "fake-r1+status=429+retry_after=30"},
                   {provider: backup, upstream_model: "fake-r2+status=429+retry_after=20"}]}
  - {id: fb-timeout, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{provider: primary, upstream_model: "fake-d+latency=3000"}, {provider: backup, upstream_model: fake-d}]}
  - {id: all-fail, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{provider: primary, upstream_model: "fake-e+status=503"}, {provider: backup, upstream_model: "fake-e+status=500"}]}
  - {id: bad-request, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{provider: primary, upstream_model: "fake-f+status=400"}, {provider: backup, upstream_model: fake-f}]}
  - {id: breaker, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{provider: primary, upstream_model: "fake-g+status=500"}]}
  - {id: slow-stream, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{provider: primary, upstream_model: "fake-h+tps=40+tokens=200"}]}
"""

ROUTER_SETTINGS = {
    "FIRST_TOKEN_TIMEOUT_S": "1.0",
    "TOTAL_TIMEOUT_S": "1.5",
    "BREAKER_FAILURE_THRESHOLD": "3",
    "BREAKER_OPEN_S": "30",
    "BREAKER_HALF_OPEN_PROBES": "1",
}


@pytest.fixture(scope="module")
def router(
    migrated_database_url: str, test_infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RouterUnderTest]:
    processes: list[ManagedProcess] = []
    namespace = f"r{uuid.uuid4().hex[:10]}"
    try:
        fake, upstream = start_fakellm()
        processes.append(fake)
        catalog = write_catalog(CATALOG, upstream, tmp_path_factory.mktemp("router"))
        env = router_env(
            database_url=migrated_database_url,
            nats_url=test_infra.nats_url,
            redis_url=test_infra.redis_url,
            namespace=namespace,
        )
        process, url = start_router(env, catalog, **ROUTER_SETTINGS)
        processes.append(process)
        yield RouterUnderTest(url, upstream, namespace, env, catalog)
    finally:
        for process in processes:
            process.stop()
        asyncio.run(purge_namespace(test_infra.nats_url, test_infra.redis_url, namespace))


@pytest.fixture
def usage_events(router: RouterUnderTest, nc: NatsClient) -> UsageEvents:
    return UsageEvents(nc, router.namespace)
