"""Process-wide settings read from FAKELLM_* environment variables."""

import os
from collections.abc import Mapping

import msgspec

from tollway.fakellm.controls import Controls, from_environ


class ServerSettings(msgspec.Struct, frozen=True):
    host: str = "127.0.0.1"
    port: int = 8090
    workers: int = 1
    log_level: str = "warning"


def server_settings(environ: Mapping[str, str] = os.environ) -> ServerSettings:
    """Where and how `python -m tollway.fakellm serve` listens when no flags are given."""
    defaults = ServerSettings()
    return ServerSettings(
        host=environ.get("FAKELLM_HOST", defaults.host),
        port=int(environ.get("FAKELLM_PORT", defaults.port)),
        workers=int(environ.get("FAKELLM_WORKERS", defaults.workers)),
        log_level=environ.get("FAKELLM_LOG_LEVEL", defaults.log_level),
    )


def default_controls(environ: Mapping[str, str] = os.environ) -> Controls:
    """Behaviour every request gets unless its headers or model name say otherwise."""
    return from_environ(environ)
