"""The gateway forwards billing's coupon, report and bulk routes: admin key or the caller's own identity, signed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.gateway.conftest import ADMIN, ClientFactory
from tests.integration.gateway.test_accounts_api import bearer, register
from tests.integration.gateway.test_admin_api import _RecordingHandler, recording_owner
from tollway.gateway.settings import GatewaySettings
from tollway.platform.identity import IDENTITY_HEADER, SIGNATURE_HEADER, verify_identity

# Billing's recorder stand-in answers every method billing's admin routes use.
_RecordingHandler.do_PATCH = _RecordingHandler.do_DELETE = _RecordingHandler._answer  # type: ignore[attr-defined]

ADMIN_ROUTES = [
    ("GET", "/admin/v1/coupons?limit=5"),
    ("POST", "/admin/v1/coupons"),
    ("GET", "/admin/v1/coupons/stats"),
    ("GET", "/admin/v1/coupons/cpn_1"),
    ("PATCH", "/admin/v1/coupons/cpn_1"),
    ("DELETE", "/admin/v1/coupons/cpn_1"),
    ("GET", "/admin/v1/coupons/cpn_1/analytics"),
    ("GET", "/admin/v1/transactions?sort=amount&order=asc"),
    ("GET", "/admin/v1/credits/summary?user_id=usr_1"),
    ("POST", "/admin/v1/grants/bulk"),
    ("GET", "/admin/v1/trials/analytics"),
    ("GET", "/admin/v1/accounts/usr_1/statement?month=2026-11&format=csv"),
    ("GET", "/admin/v1/billing/audit?actor=admin-key:ops&limit=5&cursor=abc"),
]
USER_ROUTES = [
    ("GET", "/v1/credits/summary?days=7"),
    ("GET", "/v1/coupons/available"),
    ("GET", "/v1/coupons/history"),
    ("POST", "/v1/coupons/redeem"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
async def test_admin_billing_routes_are_forwarded_with_the_admin_identity(
    gateway: ClientFactory, settings: GatewaySettings, method: str, path: str
) -> None:
    async with recording_owner() as owner, gateway(billing_url=owner.url) as client:
        refused = await client.request(method, path, headers={"Authorization": "Bearer not-the-admin-key"})
        response = await client.request(method, path, content=b"{}", headers={**ADMIN, "idempotency-key": "k"})
    assert refused.status_code == 401
    assert (response.status_code, response.json()) == (202, {"owner": "answered"})
    [(seen_method, seen_path, headers, _)] = owner.seen
    identity = verify_identity(headers[IDENTITY_HEADER], headers[SIGNATURE_HEADER], settings.internal_secret.encode())
    assert (seen_method, seen_path, identity.role, headers["idempotency-key"]) == (method, path, "admin", "k")


@pytest.mark.parametrize(("method", "path"), USER_ROUTES)
async def test_user_billing_routes_carry_the_callers_identity(
    gateway: ClientFactory, settings: GatewaySettings, method: str, path: str
) -> None:
    async with recording_owner() as owner, gateway(billing_url=owner.url) as client:
        body: dict[str, Any] = await register(client)
        anonymous = await client.request(method, path, json={"code": "X"})
        response = await client.request(
            method, path, json={"code": "WELCOME"}, headers={**bearer(body["api_key"]["key"]), "idempotency-key": "u"}
        )
    assert anonymous.status_code == 401
    assert response.status_code == 202, response.text
    [(seen_method, seen_path, headers, _)] = owner.seen
    identity = verify_identity(headers[IDENTITY_HEADER], headers[SIGNATURE_HEADER], settings.internal_secret.encode())
    assert (seen_method, seen_path, identity.role, identity.user_id) == (method, path, "user", body["user"]["id"])
