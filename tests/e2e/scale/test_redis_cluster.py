"""Rate limits, credit holds and circuit breakers on a 3-master Redis Cluster, through the gateway's own tests.

The gateway tests below run unchanged; this directory's conftest points their ``settings`` and ``redis_client``
at the cluster. Each Lua call carries keys of one account only, all tagged ``{<account>}``, so it runs in one slot.
"""

from __future__ import annotations

import asyncio

from redis.asyncio.cluster import RedisCluster

from tests.e2e.scale.clusters import LocalRedisCluster
from tests.integration.gateway.public.test_credit_gate import (
    test_200_concurrent_requests_over_3_replicas_never_spend_beyond_the_bound,
)
from tests.integration.gateway.public.test_rate_limits import (
    test_a_60_rpm_key_gets_60_of_300_requests_over_three_replicas,
    test_a_user_limit_spans_all_of_its_keys,
    test_scripts_survive_script_flush_behind_the_app,
    test_token_reservations_are_corrected_to_the_tokens_used,
)
from tollway.inference_router.adapters.breakers_redis import RedisBreakerBook
from tollway.inference_router.domain.breaker import BreakerConfig, CircuitBreaker
from tollway.platform.messaging import Namespace
from tollway.platform.redis import CoalescedScript, LuaScript, RedisKeys, open_redis

__all__ = [
    "test_200_concurrent_requests_over_3_replicas_never_spend_beyond_the_bound",
    "test_a_60_rpm_key_gets_60_of_300_requests_over_three_replicas",
    "test_a_user_limit_spans_all_of_its_keys",
    "test_scripts_survive_script_flush_behind_the_app",
    "test_token_reservations_are_corrected_to_the_tokens_used",
]


def test_a_cluster_url_opens_a_cluster_client_and_a_plain_url_a_single_server_one() -> None:
    cluster = open_redis("redis+cluster://:s%40cret@127.0.0.1:7000,127.0.0.1:7001")
    single = open_redis("redis://127.0.0.1:6379/0")

    assert isinstance(cluster, RedisCluster)
    assert [(n.host, n.port) for n in cluster.startup_nodes] == [("127.0.0.1", 7000), ("127.0.0.1", 7001)]
    assert {n.connection_kwargs["password"] for n in cluster.startup_nodes} == {"s@cret"}
    assert not isinstance(single, RedisCluster)


async def test_breakers_of_many_deployments_open_read_and_reset_in_one_slot(
    redis_client: RedisCluster, redis_cluster: LocalRedisCluster, namespace: Namespace
) -> None:
    config = BreakerConfig(failure_threshold=2)
    keys = RedisKeys("inference_router", namespace.prefix)
    replicas = [RedisBreakerBook(redis_client, keys, CircuitBreaker(config), cache_s=0) for _ in range(2)]
    deployments = [f"openai/gpt-{i}" for i in range(20)]  # without the tag these would hash to many slots
    try:
        for name in deployments[:10]:
            await replicas[0].record(name, "failure")
            await replicas[1].record(name, "failure")
        await replicas[0].record(deployments[10], "failure", retry_after=30)
        blocked = await replicas[1].unavailable(deployments)
        states = await replicas[1].states()
        slots = {await redis_client.cluster_keyslot(keys.tagged("breaker", "breakers", d)) for d in deployments}
    finally:
        removed = await replicas[0].reset()

    assert blocked == set(deployments[:11])  # ten opened by failures seen on two replicas, one cooling down
    assert {name for name, state in states.items() if state.phase == "open"} == set(deployments[:10])
    assert len(slots) == 1
    assert removed == 12  # eleven breaker states and one cooldown
    assert await replicas[1].unavailable(deployments) == set()


async def test_each_accounts_keys_live_on_one_node_and_accounts_spread_over_all(
    redis_client: RedisCluster, redis_cluster: LocalRedisCluster, namespace: Namespace
) -> None:
    keys = RedisKeys("gateway", namespace.prefix)
    accounts = [f"usr_{i}" for i in range(60)]
    slots_of = {
        account: {
            await redis_client.cluster_keyslot(name)
            for name in (keys.tagged("hold", account), keys.tagged("rl", account, "user", "rpm"))
        }
        for account in accounts
    }
    owners = [redis_client.get_node_from_key(keys.tagged("hold", account)) for account in accounts]
    nodes = {owner.port for owner in owners if owner is not None}

    assert all(len(slots) == 1 for slots in slots_of.values())
    assert nodes == set(redis_cluster.ports)


async def test_coalesced_script_calls_on_a_cluster_each_get_their_answer(
    redis_client: RedisCluster, namespace: Namespace
) -> None:
    # redis-py's cluster pipeline refuses EVALSHA: the 200-request credit test above got 500s from it
    script = CoalescedScript(LuaScript(redis_client, "return redis.call('INCR', KEYS[1])"))
    keys = [RedisKeys("test", namespace.prefix).tagged("coalesced", f"account{i}") for i in range(5)]
    try:
        answers = await asyncio.gather(*(script([keys[i % 5]], []) for i in range(100)))
        totals = [int(await redis_client.get(key) or 0) for key in keys]
    finally:
        await redis_client.delete(*keys)
    assert sorted(answers) == sorted(list(range(1, 21)) * 5)
    assert totals == [20] * 5
