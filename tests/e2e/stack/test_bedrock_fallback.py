# ruff: noqa: E501 - the catalogue reads best one model per line
"""Seed 000's journey on a whole stack: the Anthropic SDK's calls fall back to Bedrock, then a user is Bedrock-only.

The primary (Anthropic) fails with 429 + Retry-After, with a 5xx and with a timeout; Bedrock (fakellm's Converse,
SigV4-signed by the router from the AWS chain) answers. Analytics records each as ``provider=bedrock,
is_fallback=true`` and billing debits it once. Then an operator sets the user's strategy to ``bedrock_only``
through the admin API and the primary is never asked again, healthy or not (fakellm's per-model counters).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

from tollway.fakellm.sigv4 import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY
from tollway.testing.infra import LocalInfra
from tollway.testing.stack import RunningStack, running_stack, wait_for_credit

BEDROCK_MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
CATALOG = f"""
providers:
  - {{id: fake-openai, kind: openai_compatible, base_url: http://127.0.0.1:8090/v1}}
  - {{id: plan, kind: anthropic, base_url: http://127.0.0.1:8090}}
  - {{id: bedrock, kind: bedrock, base_url: http://127.0.0.1:8090, region: us-east-1}}
models:
  - {{id: gpt-4o-mini, context_window: 8000, max_output_tokens: 1000, prices: &p {{input: 800000, output: 4000000, cache_read: 80000, cache_write: 1000000}},
     deployments: [{{provider: fake-openai, upstream_model: fake-gpt-mini}}]}}
  - {{id: claude-429, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{{provider: plan, upstream_model: "fake-claude+status=429+retry_after=30"}}, {{provider: bedrock, upstream_model: "{BEDROCK_MODEL}"}}]}}
  - {{id: claude-503, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{{provider: plan, upstream_model: "fake-claude+status=503"}}, {{provider: bedrock, upstream_model: "{BEDROCK_MODEL}"}}]}}
  - {{id: claude-slow, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{{provider: plan, upstream_model: "fake-claude+latency=10000"}}, {{provider: bedrock, upstream_model: "{BEDROCK_MODEL}"}}]}}
  - {{id: claude-throttled, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{{provider: plan, upstream_model: "fake-claude-t+status=429+retry_after=30"}}]}}
  - {{id: claude-probe, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{{provider: plan, upstream_model: fake-probe-primary}}, {{provider: bedrock, upstream_model: fake-probe-on-bedrock}}]}}
  - {{id: claude-ok, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{{provider: plan, upstream_model: fake-claude-primary}}, {{provider: bedrock, upstream_model: fake-claude-on-bedrock}}]}}
"""
# The router signs Bedrock calls from the standard AWS chain: these env vars, which fakellm verifies.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": DEFAULT_ACCESS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": DEFAULT_SECRET_ACCESS_KEY,
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
# A primary that has not answered within 3 s has timed out (latency=10000 never does); short enough for a quick
# test, long enough that Bedrock's own answer on a busy 2-core machine is never cut.
TIMEOUTS = {"INFERENCE_ROUTER_FIRST_TOKEN_TIMEOUT_S": "2.0", "INFERENCE_ROUTER_TOTAL_TIMEOUT_S": "3.0"}
HI = [{"role": "user", "content": "Say hello"}]


@pytest.fixture(scope="module")
def stack(
    migrated_database_url: str, test_infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    with running_stack(
        database_url=migrated_database_url,
        nats_url=test_infra.nats_url,
        redis_url=test_infra.redis_url,
        run_dir=tmp_path_factory.mktemp("stack"),
        env={**AWS_ENV, **TIMEOUTS},
        catalog=CATALOG,
    ) as started:
        wait_for_credit(started)
        yield started


def _client(stack: RunningStack) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=stack.base_url, api_key=stack.api_key, max_retries=0)


def _message(stack: RunningStack, model: str) -> str:
    """One Anthropic SDK call through the gateway; its answer checked, its request id returned."""
    raw = _client(stack).messages.with_raw_response.create(model=model, max_tokens=50, messages=HI)  # type: ignore[arg-type]
    message = raw.parse()
    assert message.content[0].type == "text"
    assert message.content[0].text.startswith("tok0")
    assert message.model == model  # the public id, never Bedrock's
    return raw.headers["x-request-id"]


def _admin(stack: RunningStack) -> dict[str, str]:
    return {"authorization": f"Bearer {stack.admin_key}"}


def _upstream_calls(stack: RunningStack, upstream_model: str) -> int:
    requests = httpx.get(f"{stack.fakellm_url}/_fakellm/stats", timeout=10).json()["requests"]
    return sum(models.get(upstream_model, 0) for models in requests.values())


def _recorded(stack: RunningStack, request_ids: list[str], within: float = 30.0) -> dict[str, dict[str, Any]]:
    """Analytics' request rows and billing's usage debits of ``request_ids``, once both hold every one of them."""
    deadline = time.monotonic() + within
    while True:
        query: dict[str, str | int] = {"user_id": stack.user_id, "limit": 100}
        rows = httpx.get(f"{stack.base_url}/admin/v1/requests", params=query, headers=_admin(stack), timeout=10)
        debits = httpx.get(
            f"{stack.base_url}/admin/v1/transactions",
            params={**query, "type": "usage"},
            headers=_admin(stack),
            timeout=10,
        )
        assert rows.status_code == debits.status_code == 200, (rows.text, debits.text)
        by_request = {row["request_id"]: {**row, "debits": []} for row in rows.json()["data"]}
        for debit in debits.json()["data"]:
            if debit["metadata"].get("request_id") in by_request:
                by_request[debit["metadata"]["request_id"]]["debits"].append(debit["amount_micros"])
        if all(by_request.get(r, {}).get("debits") for r in request_ids) or time.monotonic() > deadline:
            return {r: by_request.get(r, {}) for r in request_ids}
        time.sleep(0.5)


# Each model's failing primary, as sent upstream.
PRIMARIES = {
    "claude-429": "fake-claude+status=429+retry_after=30",
    "claude-503": "fake-claude+status=503",
    "claude-slow": "fake-claude+latency=10000",
}


def test_a_failing_anthropic_primary_is_served_by_bedrock_and_recorded_as_a_fallback(stack: RunningStack) -> None:
    request_ids = {model: _message(stack, model) for model in PRIMARIES}

    recorded = _recorded(stack, list(request_ids.values()))
    for model, request_id in request_ids.items():
        row = recorded[request_id]
        assert (row.get("provider"), row.get("is_fallback"), row.get("attempts")) == ("bedrock", True, 2), (model, row)
        assert row["upstream_model"] == BEDROCK_MODEL
        assert _upstream_calls(stack, PRIMARIES[model]) == 1  # the primary was asked first, once
        assert len(row["debits"]) == 1, (model, row["debits"])  # one debit each
        assert row["debits"][0] == -row["cost_micros"] < 0


def test_inside_the_retry_after_window_the_sdk_gets_429_with_the_wait(stack: RunningStack) -> None:
    with pytest.raises(anthropic.RateLimitError) as first:
        _client(stack).messages.create(model="claude-throttled", max_tokens=50, messages=HI)  # type: ignore[arg-type]
    with pytest.raises(anthropic.RateLimitError) as cooling:
        _client(stack).messages.create(model="claude-throttled", max_tokens=50, messages=HI)  # type: ignore[arg-type]

    assert first.value.response.headers["retry-after"] == "30"
    assert 28 <= int(cooling.value.response.headers["retry-after"]) <= 30  # the router's wait, through the gateway
    assert cooling.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert _upstream_calls(stack, "fake-claude-t+status=429+retry_after=30") == 1  # the second never left Tollway


def test_an_operator_makes_the_user_bedrock_only_and_the_primary_is_never_asked(stack: RunningStack) -> None:
    path = f"{stack.base_url}/admin/v1/users/{stack.user_id}"
    changed = httpx.patch(path, json={"routing_strategy": "bedrock_only"}, headers=_admin(stack), timeout=10)
    assert changed.status_code == 200, changed.text
    deadline = time.monotonic() + 15  # the key's cached identity is evicted by the key-updated event
    while _upstream_calls(stack, "fake-probe-on-bedrock") == 0:
        assert time.monotonic() < deadline, "the strategy never reached the router"
        _message(stack, "claude-probe")

    request_ids = [_message(stack, "claude-ok") for _ in range(3)]

    assert _upstream_calls(stack, "fake-claude-primary") == 0
    assert _upstream_calls(stack, "fake-claude-on-bedrock") == 3
    recorded = _recorded(stack, request_ids)
    for request_id in request_ids:
        row = recorded[request_id]
        assert (row.get("provider"), row.get("is_fallback"), row.get("attempts")) == ("bedrock", False, 1), row
        assert len(row["debits"]) == 1
