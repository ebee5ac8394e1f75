"""Rate-limit headers on every authenticated response, added at the edge to those admission did not make."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from tollway.contracts.internal_api import PublicApiName
from tollway.gateway import handlers
from tollway.gateway.bootstrap import GatewayServices, PublicServices
from tollway.gateway.domain.accounts import InvalidTokenError
from tollway.gateway.domain.admission import limits_plan, window_headers
from tollway.gateway.domain.ratelimits import Limits

log = logging.getLogger(__name__)
MARKER = b"x-ratelimit-limit-requests"  # present: admission already reported the windows (one Redis call)
ANTHROPIC_PATHS = ("/v1/messages",)
ADMITTED = "tollway.admitted"  # scope entry: admission ran, so its answer already says all the windows have to say


def mark_admitted(scope: dict[str, Any]) -> None:
    """Called by a route once admission let its request through: a key without windows needs no second look."""
    scope[ADMITTED] = True


def presented_key(headers: Iterable[tuple[bytes, bytes]], path_key: str | None) -> str | None:
    """The client key as the routes read it: the path, then ``Authorization: Bearer``, then ``x-api-key``."""
    if path_key:
        return path_key
    bearer = api_key = None
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            bearer = token.strip() if scheme.lower() == "bearer" and token.strip() else None
        elif name == b"x-api-key":
            api_key = value.decode("latin-1") or None
    return bearer or api_key


class LimitHeaderSend:
    """Wraps ``send``: a response start without rate-limit headers gets them when the request's key is valid.

    Responses admission made (a served chat, a 429, a 402) already carry them; the others (a 400 before
    admission, ``/v1/models``, the account and key routes) cost one read-only Redis call (``peek.lua``).
    Nothing here can fail a response: without Redis or a valid key, the headers are simply left out.
    """

    def __init__(self, scope: dict[str, Any], send: Any, key: str) -> None:
        self._scope = scope
        self._send = send
        self._key = key

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            if not self._scope.get(ADMITTED) and all(name != MARKER for name, _ in headers):
                extra = await self._headers()
                if extra:
                    headers.extend((name.encode(), value.encode()) for name, value in extra.items())
                    message = {**message, "headers": headers}
        await self._send(message)

    async def _headers(self) -> dict[str, str]:
        try:
            gateway: GatewayServices = self._scope["app"].state.gateway
            if gateway.public is None:
                return {}
            api = _api_of(self._scope["path"])
            identity = await handlers.authenticate_key(self._key, gateway.auth)
            limits = gateway.public.limits
            if identity is not None:
                key_id, user_id = identity.api_key_id, identity.user_id
                subjects = [(f"key:{key_id}", limits.for_key(key_id)), ("user", limits.for_user(user_id))]
                return await _peeked(gateway.public, user_id, subjects, api)
            session_user = _session_user(gateway, self._key)
            if session_user is None:
                return {}
            return await _peeked(gateway.public, session_user, [("user", limits.for_user(session_user))], api)
        except Exception as exc:  # a header is never worth a failed response
            log.warning("rate-limit headers left out (%s)", type(exc).__name__)
            return {}


async def _peeked(
    public: PublicServices, user_id: str, subjects: list[tuple[str, Limits]], api: PublicApiName
) -> dict[str, str]:
    plan = limits_plan(user_id, subjects, public.limits.periods, api)
    states = await public.ports.admission.peek(plan)
    return {} if not states else window_headers(plan, states)


def _session_user(gateway: GatewayServices, token: str) -> str | None:
    # A console caller's access token: a signature check, no query. Its user's windows span every key it owns;
    # whether the session itself still counts is the route's business (a revoked one gets its 401 there).
    if gateway.accounts is None:
        return None
    try:
        return gateway.accounts.tokens.verify(token).user_id
    except InvalidTokenError:
        return None


def _api_of(path: str) -> PublicApiName:
    return "anthropic" if path in ANTHROPIC_PATHS else "openai"
