"""DirectRoutes: exact hot paths are served before the framework, with the app in the scope; the rest passes."""

from __future__ import annotations

import json
import re
from typing import Any

from tollway.platform.hot_path import DirectRoutes


async def test_hot_paths_skip_the_framework_and_see_the_app() -> None:
    framework: list[str] = []
    direct: list[tuple[str, object]] = []

    async def litestar(scope: Any, receive: Any, send: Any) -> None:
        framework.append(scope.get("path", scope["type"]))

    async def chat(scope: Any, receive: Any, send: Any) -> None:
        direct.append((scope["path"], scope["app"]))

    owner = object()
    routes = DirectRoutes(litestar, {"/v1/chat/completions": chat}, owner)
    for scope in (
        {"type": "http", "path": "/v1/chat/completions"},
        {"type": "http", "path": "/v1/chat/completions/"},  # exact paths only: anything else is the framework's
        {"type": "http", "path": "/v1/models"},
        {"type": "websocket", "path": "/v1/chat/completions"},
        {"type": "lifespan"},
    ):
        await routes(scope, None, None)  # type: ignore[arg-type]

    assert direct == [("/v1/chat/completions", owner)]
    assert framework == ["/v1/chat/completions/", "/v1/models", "/v1/chat/completions", "lifespan"]


async def test_a_hot_route_that_raises_answers_a_json_500_never_a_traceback() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise ConnectionError("Connection closed by server.")

    await DirectRoutes(broken, {"/hot": broken}, object())({"type": "http", "path": "/hot"}, None, send)  # type: ignore[arg-type]

    assert sent[0]["status"] == 500
    assert (b"content-type", b"application/json") in sent[0]["headers"]
    assert json.loads(sent[1]["body"]) == {"error": {"message": "internal error", "type": "server_error", "code": 500}}
    assert b"Connection closed" not in sent[1]["body"]


async def test_a_hot_route_that_raises_after_starting_just_ends() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def half(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ConnectionError("gone")

    await DirectRoutes(half, {"/hot": half}, object())({"type": "http", "path": "/hot"}, None, send)  # type: ignore[arg-type]

    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[1] == {"type": "http.response.body", "body": b"", "more_body": False}


async def test_a_pattern_route_serves_whole_paths_that_no_exact_route_took() -> None:
    served: list[str] = []

    async def route(name: str, scope: Any, receive: Any, send: Any) -> None:
        served.append(f"{name} {scope['path']}")

    async def litestar(scope: Any, receive: Any, send: Any) -> None:
        served.append(f"framework {scope['path']}")

    async def exact(scope: Any, receive: Any, send: Any) -> None:
        await route("exact", scope, receive, send)

    async def converse(scope: Any, receive: Any, send: Any) -> None:
        await route("pattern", scope, receive, send)

    pattern = re.compile(r"/model/(?P<model>.+)/converse")
    routes = DirectRoutes(litestar, {"/model/x/converse": exact}, object(), [(pattern, converse)])
    for path in ("/model/x/converse", "/model/a:b/c/converse", "/model/a/converse/extra", "/models"):
        await routes({"type": "http", "path": path}, None, None)  # type: ignore[arg-type]

    assert served == [
        "exact /model/x/converse",
        "pattern /model/a:b/c/converse",
        "framework /model/a/converse/extra",  # the whole path must match
        "framework /models",
    ]
