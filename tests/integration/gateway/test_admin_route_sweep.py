"""Every /admin route the gateway registers turns away a caller without the admin key (read off the app's routes)."""

from __future__ import annotations

import re

from litestar.routes import HTTPRoute

from tests.integration.gateway.conftest import Client

NOT_ADMIN = {
    "missing": {},
    "wrong admin key": {"authorization": "Bearer tw_not-the-admin-key"},
    "x-api-key": {"x-api-key": "tw_not-the-admin-key"},
}


def _admin_routes(client: Client) -> list[tuple[str, str]]:
    return [
        (method, re.sub(r"\{[^}:]+:int\}", "1", re.sub(r"\{[^}]+\}", "x1", route.path)))
        for route in client.app.routes
        if isinstance(route, HTTPRoute) and route.path.startswith("/admin")
        for method in sorted(route.methods - {"HEAD", "OPTIONS"})
    ]


async def test_every_admin_route_requires_the_admin_key(client: Client) -> None:
    routes = _admin_routes(client)
    wrong = []
    for method, path in routes:
        for case, headers in NOT_ADMIN.items():
            response = await client.request(method, path, headers=headers, json={})
            if response.status_code not in (401, 403) or "error" not in response.json():
                wrong.append(f"{method} {path} [{case}] -> {response.status_code}")
    assert len(routes) > 10
    assert wrong == []
