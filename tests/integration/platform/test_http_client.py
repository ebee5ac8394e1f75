"""The shared hot-path HTTP session: one user's upstream cookies never ride on another user's request."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tollway.platform.http_client import open_http_client


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    async def answer(request: web.Request) -> web.Response:
        response = web.json_response({"cookie": request.headers.get("Cookie")})
        response.set_cookie("__cf_bm", "one-callers-session", path="/")  # what a provider's edge sets
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://localhost:{port}"  # a host name: aiohttp keeps no cookies for a bare IP address
    await runner.cleanup()


async def test_a_cookie_an_upstream_sets_is_never_sent_on_later_requests(upstream: str) -> None:
    # The session is shared by every request of the process: a stored cookie would go out on everyone's calls.
    session = open_http_client()
    try:
        seen = []
        for _ in range(2):
            async with session.post(upstream + "/v1/chat/completions", json={}) as response:
                seen.append((await response.json())["cookie"])
    finally:
        await session.close()
    assert seen == [None, None]
