"""Asking for advice through Tollway's own gateway: an OpenAI-style chat completion with an operator's key."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import aiohttp
import msgspec

from tollway.error_monitor.domain.suggestions import Advice, AdvisorError, ChatMessage

log = logging.getLogger(__name__)
THEIR_MESSAGE_CHARS = 300


class _Message(msgspec.Struct, frozen=True):
    content: str | None = None


class _Choice(msgspec.Struct, frozen=True):
    message: _Message


class _Usage(msgspec.Struct, frozen=True):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class _Completion(msgspec.Struct, frozen=True):
    choices: list[_Choice]
    model: str = ""
    usage: _Usage = _Usage()


class _ErrorBody(msgspec.Struct, frozen=True):
    message: str = ""


class _Error(msgspec.Struct, frozen=True):
    error: _ErrorBody


class _ChatRequest(msgspec.Struct, frozen=True):
    model: str
    messages: Sequence[ChatMessage]
    max_tokens: int
    temperature: float = 0.2


_encode = msgspec.json.encode


class TollwayGatewayAdvisor:
    """Uses the process's pooled HTTP client; the key goes only into the request's authorization header."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        gateway_url: str,
        api_key: str,
        model: str,
        *,
        timeout_s: float,
        max_tokens: int,
    ) -> None:
        self._http = http
        self._url = gateway_url.rstrip("/") + "/v1/chat/completions"
        self._headers = {
            "authorization": f"Bearer {api_key}",
            "content-type": "application/json",
            "accept-encoding": "identity",  # the pooled session does not decompress
        }
        self._model = model
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_tokens = max_tokens

    async def advise(self, messages: Sequence[ChatMessage]) -> Advice:
        body = _encode(_ChatRequest(model=self._model, messages=messages, max_tokens=self._max_tokens))
        try:
            async with self._http.post(self._url, data=body, headers=self._headers, timeout=self._timeout) as answer:
                raw = await answer.read()
                request_id = answer.headers.get("x-request-id")
                status = answer.status
        except TimeoutError:
            raise AdvisorError("timeout", "Tollway's gateway did not answer in time") from None
        except aiohttp.ClientError as exc:
            log.warning("gateway unreachable for a fix suggestion", extra={"error": type(exc).__name__})
            raise AdvisorError("unreachable", "Tollway's gateway is unreachable") from None
        if status != 200:
            raise AdvisorError("refused", _their_message(raw), status)
        return _advice(raw, request_id, self._model)


def _their_message(raw: bytes) -> str:
    try:
        return msgspec.json.decode(raw, type=_Error).error.message[:THEIR_MESSAGE_CHARS]
    except msgspec.DecodeError:
        return ""


def _advice(raw: bytes, request_id: str | None, asked: str) -> Advice:
    try:
        completion = msgspec.json.decode(raw, type=_Completion)
    except msgspec.DecodeError:
        raise AdvisorError("malformed", "the gateway's answer is not a chat completion") from None
    text = completion.choices[0].message.content if completion.choices else None
    if not text or not text.strip():
        raise AdvisorError("malformed", "the model answered without any text")
    return Advice(
        text=text.strip(),
        model=completion.model or asked,
        gateway_request_id=request_id,
        prompt_tokens=completion.usage.prompt_tokens,
        completion_tokens=completion.usage.completion_tokens,
    )
