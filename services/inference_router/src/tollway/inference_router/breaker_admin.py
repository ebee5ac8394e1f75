"""The operator's breaker use cases: read every breaker's state, close one or all."""

from __future__ import annotations

from tollway.inference_router.domain.breaker import BreakerState
from tollway.inference_router.ports import BreakerBook


async def breaker_states(breakers: BreakerBook) -> dict[str, BreakerState]:
    return await breakers.states()


async def reset_breakers(breakers: BreakerBook, key: str | None = None) -> int:
    """Close one breaker (or all): an operator's decision that the deployment is healthy again."""
    return await breakers.reset(key)
