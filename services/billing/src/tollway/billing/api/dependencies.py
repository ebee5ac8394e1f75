"""Litestar dependencies of billing's routes: the built services, and the calling user's id."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException

from tollway.billing.bootstrap import BillingServices
from tollway.platform.identity import Identity


def provide_services(request: ASGIConnection[Any, Any, Any, Any]) -> BillingServices:
    services: BillingServices = request.app.state.billing
    return services


def user_of(identity: Identity) -> str:
    """Credit routes are about one's own account: anonymous callers have none."""
    if identity.is_anonymous or identity.role == "anonymous" or not identity.user_id:
        raise PermissionDeniedException(detail="credit routes need a user identity")
    return identity.user_id


def actor_of(identity: Identity) -> str:
    """Who to record as the operator behind an admin action."""
    return identity.user_id or f"admin-request:{identity.request_id}"
