"""Namespaces and Redis key prefixes keep parallel tests (and services) apart."""

from __future__ import annotations

from tollway.platform.messaging import Namespace
from tollway.platform.redis import RedisKeys


def test_production_namespace_changes_nothing() -> None:
    ns = Namespace()
    assert (ns.subject("router.request.completed.v1"), ns.stream("ROUTER"), ns.durable("d")) == (
        "router.request.completed.v1",
        "ROUTER",
        "d",
    )


def test_test_namespace_prefixes_everything_and_round_trips_subjects() -> None:
    ns = Namespace("tabc")
    assert ns.subject("router.>") == "tabc.router.>"
    assert ns.stream("ROUTER") == "TABC_ROUTER"
    assert ns.bucket("billing_balances") == "tabc_billing_balances"
    assert ns.unprefixed(ns.subject("billing.credit.debited.v1")) == "billing.credit.debited.v1"


def test_redis_keys_are_owned_by_one_service() -> None:
    assert RedisKeys("gateway").key("ratelimit", "key_1", 60) == "gateway:ratelimit:key_1:60"
    assert RedisKeys("gateway", prefix="t1").key("x", 1) == "t1:gateway:x:1"
    assert RedisKeys("gateway", prefix="t1").pattern == "t1:gateway:*"
