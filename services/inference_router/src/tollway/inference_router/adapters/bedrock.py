"""Adapter for ``bedrock`` providers: Converse / ConverseStream, signed with botocore's SigV4 signer.

Only botocore's pure parts are used (the signer and the event-stream framing parser); the call itself goes
out on the shared aiohttp session like every other upstream, so nothing here blocks the event loop.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.eventstream import EventStreamBuffer, ParserError

from tollway.inference_router.adapters.aws_credentials import AwsCredentialSource
from tollway.inference_router.domain.bedrock_body import encode_bedrock_request
from tollway.inference_router.domain.bedrock_response import parse_bedrock_response
from tollway.inference_router.domain.bedrock_stream import BedrockEventDecoder
from tollway.inference_router.domain.canonical import ChatRequest, ChatResponse
from tollway.inference_router.domain.catalog import Provider
from tollway.inference_router.domain.deltas import StreamDelta
from tollway.inference_router.domain.error_bodies import upstream_error_message
from tollway.inference_router.domain.errors import UpstreamProtocolError
from tollway.inference_router.domain.upstream import UpstreamRequest

SIGNING_NAME = "bedrock"


def _response_id() -> str:
    """Converse answers carry no id of their own; clients still expect one."""
    return f"msg_bdrk_{secrets.token_hex(12)}"


class BedrockUpstream:
    """``POST {base_url}/model/{modelId}/converse[-stream]``, SigV4-signed (or a Bedrock API key as bearer)."""

    def __init__(
        self, provider: Provider, *, credentials: AwsCredentialSource | None = None, api_key: str | None = None
    ) -> None:
        if credentials is None and api_key is None:
            raise ValueError("a bedrock provider needs AWS credentials or an API key")
        self.provider = provider
        self._credentials = credentials
        self._api_key = api_key
        self._region = provider.region or ""

    def build_request(self, request: ChatRequest, *, upstream_model: str, default_max_tokens: int) -> UpstreamRequest:
        operation = "converse-stream" if request.stream else "converse"
        # The model id goes into the path percent-encoded (``:`` in ``…-v1:0``, ``/`` in ARNs), as botocore sends it.
        url = f"{self.provider.base_url.rstrip('/')}/model/{quote(upstream_model, safe='')}/{operation}"
        body = encode_bedrock_request(request, model=upstream_model, default_max_tokens=default_max_tokens)
        headers = {
            "content-type": "application/json",
            "accept": "application/vnd.amazon.eventstream" if request.stream else "application/json",
            **{name.lower(): value for name, value in self.provider.headers.items()},
        }
        return UpstreamRequest(url=url, headers=self._authorize(url, headers, body), body=body, stream=request.stream)

    def _authorize(self, url: str, headers: dict[str, str], body: bytes) -> tuple[tuple[str, str], ...]:
        if self._credentials is None:
            return (*headers.items(), ("authorization", f"Bearer {self._api_key}"))
        signed = AWSRequest(method="POST", url=url, data=body, headers=headers)
        SigV4Auth(self._credentials.current(), SIGNING_NAME, self._region).add_auth(signed)
        return tuple((name.lower(), value) for name, value in signed.headers.items())

    def parse_response(self, body: bytes) -> ChatResponse:
        return parse_bedrock_response(body, response_id=_response_id(), model="")

    def stream_decoder(self) -> BedrockStreamDecoder:
        return BedrockStreamDecoder(BedrockEventDecoder(response_id=_response_id(), model=""))

    def error_message(self, body: bytes) -> str:
        return upstream_error_message(body)


class BedrockStreamDecoder:
    """The binary event stream, fed in chunks split anywhere: botocore unframes (and CRC-checks) each message."""

    def __init__(self, events: BedrockEventDecoder) -> None:
        self._buffer = EventStreamBuffer()
        self._events = events

    @property
    def finished(self) -> bool:
        return self._events.finished

    def feed(self, chunk: bytes) -> list[StreamDelta]:
        self._buffer.add_data(chunk)
        deltas: list[StreamDelta] = []
        try:
            for message in self._buffer:
                headers = message.headers
                kind = str(headers.get(":message-type", ""))
                name = str(headers.get(":event-type") or headers.get(":exception-type") or "")
                deltas += self._events.event(kind, name, message.payload)
        except ParserError as error:
            raise UpstreamProtocolError(f"upstream sent a malformed event stream: {type(error).__name__}") from None
        return deltas

    def close(self) -> list[StreamDelta]:
        return self._events.close()
