"""``POST /internal/v1/chat``: a raw ASGI route, so the hot path skips framework work and sees disconnects."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any, get_args

import msgspec
from litestar.types import Receive, Scope, Send

from tollway.contracts.internal_api import API_HEADER, REQUEST_ID_HEADER, PublicApiName
from tollway.inference_router.bootstrap import RouterServices
from tollway.inference_router.domain.commands import ServeChat
from tollway.inference_router.domain.routing import strategy_named
from tollway.inference_router.handlers import serve_chat
from tollway.inference_router.replies import ChatReply, ChatStream
from tollway.platform.disconnects import DisconnectWatch
from tollway.platform.hot_path import hot_request
from tollway.platform.identity import IDENTITY_HEADER, SIGNATURE_HEADER, Identity, IdentityError, verify_identity

_API_NAMES: dict[bytes, PublicApiName] = {name.encode(): name for name in get_args(PublicApiName)}
_encode = msgspec.json.Encoder().encode


class BodyTooLargeError(Exception):
    pass


class ClientGoneError(Exception):
    pass


async def chat(scope: Scope, receive: Receive, send: Send) -> None:
    headers = dict(scope["headers"])
    carrier = {"traceparent": _text(headers, "traceparent") or ""}
    with hot_request("inference_router", "chat", carrier) as outcome:
        outcome.status = await _chat(scope["app"].state.router, headers, receive, send)


async def _chat(services: RouterServices, headers: dict[bytes, bytes], receive: Receive, send: Send) -> int:
    """Serve one call; returns the status sent (499 when the client left before an answer)."""
    started = time.monotonic()
    admitted = await _admit(services, headers, receive)
    if admitted is None:
        return 499
    if isinstance(admitted, ChatReply):
        return await _send_reply(send, admitted)
    identity, api, body = admitted
    command = ServeChat(
        request_id=identity.request_id,
        api=api,
        body=body,
        user_id=identity.user_id,
        account_id=identity.account_id,
        api_key_id=identity.api_key_id,
        is_anonymous=identity.is_anonymous,
        routing_strategy=strategy_named(identity.routing_strategy),
        started=started,
    )
    answer = await _until_disconnect(receive, serve_chat(command, services.ports))
    if isinstance(answer, ChatStream):
        await _send_stream(send, receive, answer, identity.request_id)
        return answer.status
    if answer is None:
        return 499
    return await _send_reply(send, answer, identity.request_id)


async def _admit(
    services: RouterServices, headers: dict[bytes, bytes], receive: Receive
) -> tuple[Identity, PublicApiName, bytes] | ChatReply | None:
    """The verified caller, the public format and the body; or the error reply; ``None`` if the client left."""
    try:
        identity = verify_identity(_text(headers, IDENTITY_HEADER), _text(headers, SIGNATURE_HEADER), services.secret)
    except IdentityError as error:
        return ChatReply(401, _error(str(error)))
    api = _API_NAMES.get(headers.get(API_HEADER.encode(), b""))
    if api is None:
        return ChatReply(400, _error(f"{API_HEADER} must be one of {', '.join(n.decode() for n in _API_NAMES)}"))
    try:
        return identity, api, await _read_body(receive, services.max_body_bytes)
    except BodyTooLargeError:
        return ChatReply(413, _error("request body too large"))
    except ClientGoneError:
        return None


async def _until_disconnect(receive: Receive, work: Any) -> Any:
    """Run ``work`` but give up as soon as the client disconnects (the upstream call is cancelled with it)."""
    watch = DisconnectWatch(receive)
    try:
        answer = await work
    except asyncio.CancelledError:
        watch.cancel()
        if not watch.swallow():
            raise
        return None
    except BaseException:
        watch.cancel()
        raise
    if isinstance(answer, ChatStream):
        watch.cancel()  # the stream's relay reads ``receive`` with a watcher of its own
    else:
        watch.stop()
    return answer


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _send_stream(send: Send, receive: Receive, answer: ChatStream, request_id: str) -> None:
    """Relay chunks as they come; a client that leaves stops the relay, which closes the upstream and records."""
    watcher = asyncio.ensure_future(_disconnected(receive))
    try:
        await send(_start(answer.status, answer.content_type, answer.headers, request_id))
        async for chunk in answer.chunks:
            if watcher.done():
                break
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except OSError:
        pass  # the client went away mid-send
    finally:
        watcher.cancel()
        await answer.chunks.aclose()
        answer.abandon()


async def _send_reply(send: Send, reply: ChatReply, request_id: str | None = None) -> int:
    await send(_start(reply.status, reply.content_type, reply.headers, request_id))
    await send({"type": "http.response.body", "body": reply.body, "more_body": False})
    return reply.status


def _start(status: int, content_type: str, extra: Iterable[tuple[str, str]], request_id: str | None) -> Any:
    headers = [(b"content-type", content_type.encode()), *((k.encode(), v.encode()) for k, v in extra)]
    if request_id:
        headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
    return {"type": "http.response.start", "status": status, "headers": headers}


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGoneError
        chunk: bytes = message.get("body", b"")  # type: ignore[assignment]
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _text(headers: dict[bytes, bytes], name: str) -> str | None:
    value = headers.get(name.encode())
    return value.decode("latin-1") if value is not None else None


def _error(message: str) -> bytes:
    return _encode({"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}})
