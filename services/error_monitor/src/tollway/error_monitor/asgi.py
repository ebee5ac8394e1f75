"""The granian target: ``tollway.error_monitor.asgi:build`` (a factory, so nothing runs at import)."""

from __future__ import annotations

from litestar import Litestar

from tollway.error_monitor.app import create_app
from tollway.error_monitor.settings import load


def build() -> Litestar:
    return create_app(load())
