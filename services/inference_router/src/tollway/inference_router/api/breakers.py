"""Admin endpoints of the circuit breakers: list, get, reset one, reset all (admin identity required).

Resetting is ``DELETE`` of the breaker's state (a deployment key contains ``/``, so it must end the path).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, delete, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from tollway.inference_router import breaker_admin
from tollway.inference_router.bootstrap import RouterServices
from tollway.inference_router.domain.breaker import BreakerState
from tollway.platform.http import admin_identity
from tollway.platform.identity import Identity


class BreakerOut(msgspec.Struct, frozen=True, kw_only=True):
    deployment: str
    phase: str
    failures: int
    rate_limits: int
    open_until: float | None
    reopens: int


class BreakersOut(msgspec.Struct, frozen=True):
    data: list[BreakerOut]


class ResetOut(msgspec.Struct, frozen=True):
    reset: int


class CircuitBreakerController(Controller):
    path = "/internal/v1/circuit-breakers"
    dependencies = {"admin": Provide(admin_identity, sync_to_thread=False)}  # noqa: RUF012 - Litestar's API

    @get("/")
    async def list_breakers(self, request: Request[Any, Any, Any], admin: NamedDependency[Identity]) -> BreakersOut:
        states = await breaker_admin.breaker_states(_book(request))
        return BreakersOut([_out(key, state) for key, state in sorted(states.items())])

    @get("/{deployment:path}")
    async def get_breaker(
        self, request: Request[Any, Any, Any], admin: NamedDependency[Identity], deployment: FromPath[str]
    ) -> BreakerOut:
        key = deployment.lstrip("/")
        return _out(key, await _book(request).state(key))

    @delete("/", status_code=200)
    async def reset_all(self, request: Request[Any, Any, Any], admin: NamedDependency[Identity]) -> ResetOut:
        return ResetOut(await breaker_admin.reset_breakers(_book(request)))

    @delete("/{deployment:path}", status_code=200)
    async def reset_one(
        self, request: Request[Any, Any, Any], admin: NamedDependency[Identity], deployment: FromPath[str]
    ) -> ResetOut:
        return ResetOut(await breaker_admin.reset_breakers(_book(request), deployment.lstrip("/")))


def _book(request: Request[Any, Any, Any]) -> Any:
    services: RouterServices = request.app.state.router
    return services.breakers


def _out(key: str, state: BreakerState) -> BreakerOut:
    return BreakerOut(
        deployment=key,
        phase=state.phase,
        failures=state.failures,
        rate_limits=state.rate_limits,
        open_until=state.open_until if state.phase == "open" else None,
        reopens=state.reopens,
    )
