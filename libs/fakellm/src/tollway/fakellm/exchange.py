"""The steps every API call shares: decode, record, resolve controls, wait, and inject a requested error."""

from typing import Protocol, TypeVar

import msgspec

from tollway.fakellm.controls import ControlError, Controls, header_directives, resolve, split_model
from tollway.fakellm.errors import Provider
from tollway.fakellm.recording import RECORDER
from tollway.fakellm.responses import Headers, Receive, Send, send_error, sleep_ms


class Incoming(msgspec.Struct, frozen=True):
    path: str
    headers: Headers
    body: bytes
    receive: Receive  # after the body, it only reports the client hanging up


class ModelRequest(Protocol):
    @property
    def model(self) -> str: ...


RequestT = TypeVar("RequestT", bound=ModelRequest)


class Admitted(msgspec.Struct, frozen=True):
    model: str  # the model id without its +directives, echoed in responses
    controls: Controls


async def admit(
    incoming: Incoming,
    send: Send,
    provider: Provider,
    decoder: msgspec.json.Decoder[RequestT],
    defaults: Controls,
) -> tuple[RequestT, Admitted] | None:
    """Decode and vet a request; None means an error response has already been sent."""
    try:
        request = decoder.decode(incoming.body)
    except msgspec.DecodeError as exc:  # also covers ValidationError: wrong types, missing fields
        RECORDER.record(incoming.path, "", incoming.headers, incoming.body)
        await send_error(send, provider, 400, f"fakellm: malformed request body: {exc}")
        return None
    RECORDER.record(incoming.path, request.model, incoming.headers, incoming.body)
    try:
        base_model, directives = split_model(request.model)
        controls = resolve(defaults, directives, header_directives(incoming.headers))
    except ControlError as exc:
        await send_error(send, provider, 400, str(exc))
        return None
    await sleep_ms(controls.latency_ms)
    if controls.status is not None:
        await send_error(
            send, provider, controls.status, f"fakellm: injected status {controls.status}", controls.retry_after
        )
        return None
    return request, Admitted(base_model, controls)
