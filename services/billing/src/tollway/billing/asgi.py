"""The granian target: ``tollway.billing.asgi:build`` (a factory, so nothing runs at import)."""

from __future__ import annotations

from litestar import Litestar

from tollway.billing.app import create_app
from tollway.billing.settings import load


def build() -> Litestar:
    return create_app(load())
