"""Upstream calls over the process's shared aiohttp session, with connect, first-token and total timeouts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from tollway.inference_router.domain.errors import UpstreamProtocolError
from tollway.inference_router.domain.upstream import UpstreamRequest
from tollway.inference_router.ports import UpstreamConnectError, UpstreamTimeoutError
from tollway.platform.telemetry import inject_trace_context


class Timeouts:
    def __init__(self, *, connect_s: float, first_token_s: float, total_s: float) -> None:
        self.connect_s = connect_s
        self.first_token_s = first_token_s
        self.total_s = total_s


class AiohttpReply:
    """One upstream response; every read is bounded by the request's deadline."""

    def __init__(self, response: aiohttp.ClientResponse, deadline: float, timeouts: Timeouts) -> None:
        self._response = response
        self._deadline = deadline
        self._timeouts = timeouts
        self.status = response.status
        self.headers: Mapping[str, str] = _lower(response.headers)

    async def read(self) -> bytes:
        async with _translated(self._remaining()):
            return await self._response.read()

    async def first_chunk(self) -> bytes:
        async with _translated(min(self._timeouts.first_token_s, self._remaining())):
            return await self._response.content.readany()

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            async with _translated(self._remaining()):
                chunk = await self._response.content.readany()
            if not chunk:
                return
            yield chunk

    def close(self) -> None:
        self._response.close()

    def _remaining(self) -> float:
        return max(0.001, self._deadline - time.monotonic())


class AiohttpTransport:
    def __init__(self, session: aiohttp.ClientSession, timeouts: Timeouts) -> None:
        self._session = session
        self._timeouts = timeouts

    async def send(self, request: UpstreamRequest) -> AiohttpReply:
        """Headers must arrive within the first-token timeout for a stream, within the total one otherwise.

        A request's ``budget_s`` (its share of a request deadline) caps both.
        """
        total = self._timeouts.total_s if request.budget_s is None else min(self._timeouts.total_s, request.budget_s)
        deadline = time.monotonic() + total
        wait = min(self._timeouts.first_token_s, total) if request.stream else total
        headers = dict(request.headers)
        inject_trace_context(headers)
        async with _translated(wait):
            response = await self._session.request(
                request.method,
                URL(request.url, encoded=True),  # sent as built: a signed path must not be re-quoted
                data=request.body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._timeouts.connect_s),
            )
        return AiohttpReply(response, deadline, self._timeouts)


class _translated:  # noqa: N801 - reads as a context manager name at the call site
    """Bound an await by ``seconds`` and turn aiohttp's failures into the port's errors."""

    def __init__(self, seconds: float) -> None:
        self._timeout = asyncio.timeout(seconds)

    async def __aenter__(self) -> None:
        await self._timeout.__aenter__()

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> None:
        try:
            await self._timeout.__aexit__(kind, error, tb)  # type: ignore[arg-type]
        except TimeoutError:
            raise UpstreamTimeoutError("the upstream did not answer in time") from None
        if isinstance(error, aiohttp.ClientConnectionError) and not isinstance(error, aiohttp.ServerDisconnectedError):
            raise UpstreamConnectError(f"cannot reach the upstream: {error}") from None
        if isinstance(error, aiohttp.ClientError):
            raise UpstreamProtocolError(f"the upstream connection failed: {type(error).__name__}") from None


def _lower(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
