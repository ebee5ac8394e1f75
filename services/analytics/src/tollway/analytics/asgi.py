"""The granian target: ``tollway.analytics.asgi:build`` (a factory, so nothing runs at import)."""

from __future__ import annotations

from litestar import Litestar

from tollway.analytics.app import create_app
from tollway.analytics.settings import load


def build() -> Litestar:
    return create_app(load())
