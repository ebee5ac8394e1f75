"""The granian target: ``tollway.inference_router.asgi:build`` (a factory, so nothing runs at import)."""

from __future__ import annotations

from litestar import Litestar

from tollway.inference_router.app import create_app
from tollway.inference_router.settings import load


def build() -> Litestar:
    return create_app(load())
