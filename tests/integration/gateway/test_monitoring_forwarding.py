"""The gateway forwards analytics' and error_monitor's monitoring routes behind the admin key (tokens/s: any key)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tests.integration.gateway.conftest import ADMIN, ClientFactory
from tests.integration.gateway.test_admin_api import RecordingOwner, _RecordingHandler
from tollway.gateway.settings import GatewaySettings
from tollway.platform.identity import IDENTITY_HEADER, SIGNATURE_HEADER, verify_identity


class _AnyMethodHandler(_RecordingHandler):
    do_PUT = _RecordingHandler._answer  # noqa: N815 - http.server's naming


@asynccontextmanager
async def recording_owner() -> AsyncIterator[RecordingOwner]:
    """The admin API test's stand-in owner, answering PUT too (feature flags)."""
    owner = RecordingOwner()
    owner.RequestHandlerClass = _AnyMethodHandler
    thread = threading.Thread(target=owner.serve_forever, daemon=True)
    thread.start()
    try:
        yield owner
    finally:
        owner.shutdown()
        owner.server_close()


ANALYTICS = [
    ("GET", "/admin/v1/requests"),
    ("GET", "/admin/v1/requests/summary"),
    ("GET", "/admin/v1/requests/series"),
    ("GET", "/admin/v1/requests/by-provider"),
    ("GET", "/admin/v1/requests/by-model"),
    ("GET", "/admin/v1/models/usage"),
    ("GET", "/admin/v1/monitor"),
    ("GET", "/admin/v1/tracking/quality"),
    ("GET", "/admin/v1/tracking/trend"),
    ("GET", "/admin/v1/flags"),
    ("PUT", "/admin/v1/flags/usage_import.openai"),
    ("GET", "/admin/v1/reconciliation"),
    ("POST", "/admin/v1/provider-usage/import"),
]
ERROR_MONITOR = [
    ("GET", "/admin/v1/errors"),
    ("GET", "/admin/v1/errors/patterns"),
    ("GET", "/admin/v1/errors/patterns/pat_1"),
    ("GET", "/admin/v1/errors/patterns/pat_1/suggestions"),
    ("POST", "/admin/v1/errors/patterns/pat_1/suggest-fix"),
    ("GET", "/admin/v1/errors/dashboard"),
    ("GET", "/admin/v1/incidents"),
    ("GET", "/admin/v1/incidents/ongoing"),
    ("GET", "/admin/v1/incidents/stats"),
    ("GET", "/admin/v1/incidents/inc_1"),
    ("GET", "/admin/v1/incidents/inc_1/logs"),
    ("GET", "/admin/v1/incidents/inc_1/analysis"),
    ("POST", "/admin/v1/incidents/inc_1/resolve"),
]


async def test_monitoring_routes_reach_their_owner_as_admin_only(
    gateway: ClientFactory, settings: GatewaySettings
) -> None:
    # One gateway for every route: starting one per route would cost minutes.
    async with (
        recording_owner() as analytics,
        recording_owner() as error_monitor,
        gateway(analytics_url=analytics.url, error_monitor_url=error_monitor.url) as client,
    ):
        for method, path in ANALYTICS + ERROR_MONITOR:
            refused = await client.request(method, path, headers={"Authorization": "Bearer nope"})
            assert refused.status_code == 401, path
            sent = ADMIN | {"idempotency-key": f"k-{method}-{path}"}
            answered = await client.request(method, path + "?days=3", headers=sent, content=b"{}")
            assert (answered.status_code, answered.json()) == (202, {"owner": "answered"}), path
    seen = [(method, path.removesuffix("?days=3")) for method, path, _, _ in analytics.seen]
    assert seen == ANALYTICS
    assert [(method, path.removesuffix("?days=3")) for method, path, _, _ in error_monitor.seen] == ERROR_MONITOR
    for method, path, headers, _ in analytics.seen + error_monitor.seen:
        assert headers["idempotency-key"] == f"k-{method}-{path.removesuffix('?days=3')}"  # replays need it
        secret = settings.internal_secret.encode()
        assert verify_identity(headers[IDENTITY_HEADER], headers[SIGNATURE_HEADER], secret).role == "admin"


async def test_tokens_per_second_needs_a_key_and_keeps_the_accept_header(gateway: ClientFactory) -> None:
    async with recording_owner() as analytics, gateway(analytics_url=analytics.url) as client:
        refused = await client.get("/v1/metrics/tokens-per-second")
        assert refused.status_code == 401
        assert analytics.seen == []
