"""``/health``, ``/ready`` and ``/metrics`` for every service's HTTP app."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.plugins.prometheus import PrometheusController

from tollway.platform.infra import Infra, run_checks


class HealthOut(msgspec.Struct, frozen=True):
    status: str
    service: str


class ReadyOut(msgspec.Struct, frozen=True):
    status: str
    service: str
    checks: dict[str, str]


class HealthController(Controller):
    """Liveness says the process answers; readiness says every dependency it cannot serve without answers."""

    include_in_schema = False

    @get("/health", sync_to_thread=False)
    def health(self, request: Request[Any, Any, Any]) -> HealthOut:
        infra: Infra = request.app.state.infra
        return HealthOut(status="ok", service=infra.service)

    @get("/ready")
    async def ready(self, request: Request[Any, Any, Any]) -> Response[ReadyOut]:
        infra: Infra = request.app.state.infra
        checks = await run_checks(infra.checks)
        failed = {name for name, result in checks.items() if result != "ok"}
        ok = failed <= infra.soft_checks
        status = "not_ready" if not ok else "degraded" if failed else "ready"
        return Response(ReadyOut(status=status, service=infra.service, checks=checks), status_code=200 if ok else 503)


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False
