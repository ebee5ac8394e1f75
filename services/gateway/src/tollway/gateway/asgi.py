"""The granian target: ``tollway.gateway.asgi:build`` (a factory, so nothing runs at import)."""

from __future__ import annotations

from litestar import Litestar

from tollway.gateway.app import create_app
from tollway.gateway.settings import load


def build() -> Litestar:
    return create_app(load())
