"""DirectRoutes: exact hot paths are served before the framework, with the app in the scope; the rest passes."""

from __future__ import annotations

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
