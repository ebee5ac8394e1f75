"""Forwarding an admitted request to the router and relaying its answer as it arrives, then settling it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from tollway.contracts.internal_api import PublicApiName
from tollway.gateway import handlers
from tollway.gateway.api.exchange import ClientGoneError, HeaderList, encode_headers
from tollway.gateway.api.public_errors import send_error
from tollway.gateway.bootstrap import PublicServices
from tollway.gateway.domain.admission import Admitted
from tollway.gateway.domain.rejections import InternalError, PublicError, RouterUnavailableError
from tollway.gateway.domain.usage import Usage, UsageTap
from tollway.gateway.forwarding import RouterClient, RouterError
from tollway.platform.disconnects import DisconnectWatch

log = logging.getLogger(__name__)
# ``x-vercel-ai-data-stream`` tells the AI SDK client which stream protocol the answer speaks; ``x-amzn-errortype``
# names a Bedrock-shaped error (botocore raises the exception class of that name).
RELAYED_HEADERS = (
    "content-type",
    "content-encoding",
    "cache-control",
    "retry-after",
    "retry-after-ms",
    "x-vercel-ai-data-stream",
    "x-amzn-errortype",
)


async def admit_then_forward(
    receive: Any,
    send: Any,
    *,
    services: PublicServices,
    headers: dict[str, str],
    api: PublicApiName,
    request_id: str,
    admit: Callable[[], Awaitable[Admitted]],
) -> int:
    """Run a route's admission, answer its refusal in the route's API shape, else forward; the status seen."""
    try:
        admitted = await admit()
    except PublicError as error:
        await send_error(send, api, error, request_id)
        return error.status
    except ClientGoneError:
        return 499
    except Exception:
        log.exception("admitting %s failed", request_id)
        await send_error(send, api, InternalError("the gateway failed to admit the request"), request_id)
        return 500
    return await forward(receive, send, services, admitted, headers)


async def forward(
    receive: Any, send: Any, services: PublicServices, admitted: Admitted, client_headers: dict[str, str]
) -> int:
    """Relay the router's answer; a client that leaves cancels the router call; always settle afterwards.

    Returns the status the client saw: the router's, 502 when it could not be reached, 499 when the client left.
    """
    relay = Relay(admitted, send)
    watch = DisconnectWatch(receive)
    try:
        await relay.run(services.router, client_headers)
        watch.stop()
    except asyncio.CancelledError:
        if not watch.swallow():
            raise
        return 499
    except Exception as exc:
        watch.stop()
        return await relay.fail(exc)
    finally:
        watch.stop()
        relay.let_go()
        # Its own tracked task: a cancelled request still settles, and the client does not wait for it.
        services.settlements.spawn(handlers.settle_chat(services.ports, admitted, relay.status, relay.usage()))
    return relay.status


class Relay:
    """One router exchange: its status, whether the answer was relayed whole, and the usage seen on the way."""

    def __init__(self, admitted: Admitted, send: Any) -> None:
        self._admitted = admitted
        self._send = send
        self._tap = UsageTap(stream=admitted.stream)
        self._response: aiohttp.ClientResponse | None = None
        self.status = 0  # 0 until the router answers: nothing was spent
        self.started = False  # the response's start went out: no error response is possible any more
        self.finished = False

    async def run(self, router: RouterClient, client_headers: dict[str, str]) -> None:
        self._response = response = await router.open_chat(self._admitted, client_headers)
        self.status = response.status
        start = {"type": "http.response.start", "status": response.status, "headers": self._headers(response)}
        if self._admitted.stream:
            await self._stream(start, response)
        else:
            await self._whole(start, response)
        self.finished = True

    async def fail(self, exc: Exception) -> int:
        """Answer with the error when nothing was sent yet; returns the status the client saw."""
        call = self._admitted.call
        if isinstance(exc, RouterError):
            error: PublicError = RouterUnavailableError("the inference router could not be reached; please retry")
        else:
            log.error("relaying %s failed", call.request_id, exc_info=exc)
            error = InternalError("the gateway failed while relaying the answer")
        if self.started:  # the client sees the answer end early, never a traceback
            return self.status
        await send_error(self._send, call.api, error, call.request_id, self._admitted.headers)
        return error.status

    def usage(self) -> Usage | None:
        return self._tap.usage() if self.finished else None

    def let_go(self) -> None:
        # A fully read answer gives its connection back to the pool; an abandoned one must close it, which is
        # also what tells the router (and through it the provider) to stop.
        if self._response is None:
            return
        if self.finished:
            self._response.release()
        else:
            self._response.close()

    async def _whole(self, start: dict[str, Any], response: aiohttp.ClientResponse) -> None:
        # A plain JSON answer comes whole: one read and one send, with its length.
        body = await response.read()
        self._tap.feed(body)
        start["headers"].append((b"content-length", str(len(body)).encode()))
        self.started = True
        await self._send(start)
        await self._send({"type": "http.response.body", "body": body, "more_body": False})

    async def _stream(self, start: dict[str, Any], response: aiohttp.ClientResponse) -> None:
        self.started = True
        await self._send(start)
        async for chunk in response.content.iter_any():
            self._tap.feed(chunk)
            await self._send({"type": "http.response.body", "body": chunk, "more_body": True})
        await self._send({"type": "http.response.body", "body": b"", "more_body": False})

    def _headers(self, response: aiohttp.ClientResponse) -> HeaderList:
        relayed = [(name, response.headers[name]) for name in RELAYED_HEADERS if name in response.headers]
        relayed.append(("x-request-id", self._admitted.call.request_id))
        relayed.extend(self._admitted.headers.items())
        return encode_headers(relayed)
