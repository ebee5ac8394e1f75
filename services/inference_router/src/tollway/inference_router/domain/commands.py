"""The command a chat call becomes once the router has verified who sent it."""

from __future__ import annotations

import msgspec

from tollway.contracts.internal_api import PublicApiName
from tollway.inference_router.domain.routing import RoutingStrategy


class ServeChat(msgspec.Struct, frozen=True, kw_only=True):
    """One client request: its body in the public ``api`` format and the caller the gateway vouched for."""

    request_id: str
    api: PublicApiName
    body: bytes
    user_id: str | None
    account_id: str | None
    api_key_id: str | None
    is_anonymous: bool
    routing_strategy: RoutingStrategy
    started: float  # monotonic seconds when the request arrived
