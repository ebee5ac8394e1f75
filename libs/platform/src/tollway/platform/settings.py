"""Loading a service's frozen settings Struct from ``<SERVICE>_*`` environment variables, once per process."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

import msgspec

S = TypeVar("S", bound=msgspec.Struct)

_PATH = re.compile(r"at `\$\.(\w+)")
_MISSING = re.compile(r"missing required field `(\w+)`")
# Only a developer's machine (``make run``, the tests) may run with the secrets printed in this repository.
ENVIRONMENT_VARIABLE = "TOLLWAY_ENV"
DEVELOPMENT = "development"


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the environment variable to fix."""


class InfraSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What every service process needs to reach its infrastructure and report on itself."""

    # Fields whose default is a development secret: outside TOLLWAY_ENV=development they must be set.
    development_secrets: ClassVar[tuple[str, ...]] = ("internal_secret",)

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/tollway"
    nats_url: str = "nats://127.0.0.1:4222"
    nats_replicas: int = 1  # copies of every stream and KV bucket this process provisions (3 on a NATS cluster)
    redis_url: str = "redis://127.0.0.1:6379/0"
    namespace: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "INFO"
    internal_secret: str = "dev-internal-secret-change-me"  # noqa: S105 - dev default, overridden in deployment


def load_settings(settings_type: type[S], prefix: str, environ: Mapping[str, str] | None = None) -> S:
    """Build ``settings_type`` from env vars named ``<prefix><FIELD>`` (e.g. ``BILLING_DATABASE_URL``).

    Strings are coerced to ints/bools/floats as the field types say; errors name the variable.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for field in msgspec.structs.fields(settings_type):
        raw = env.get(prefix + field.encode_name.upper())
        if raw is not None:
            values[field.name] = raw
    try:
        settings = msgspec.convert(values, settings_type, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(_explain(str(exc), prefix)) from None
    if env.get(ENVIRONMENT_VARIABLE, "production") != DEVELOPMENT:
        _refuse_development_secrets(settings, prefix)
    return settings


def _refuse_development_secrets(settings: msgspec.Struct, prefix: str) -> None:
    defaults = {field.name: field.default for field in msgspec.structs.fields(settings)}
    for name in getattr(settings, "development_secrets", ()):
        if getattr(settings, name) == defaults[name]:
            raise SettingsError(
                f"{prefix}{name.upper()} is the development default; set a real secret "
                f"(or {ENVIRONMENT_VARIABLE}={DEVELOPMENT} on a developer's machine)"
            )


def _explain(message: str, prefix: str) -> str:
    missing = _MISSING.search(message)
    if missing:
        return f"{prefix}{missing.group(1).upper()} is required but not set"
    at = _PATH.search(message)
    if at:
        return f"{prefix}{at.group(1).upper()} is malformed: {message.split(' - at ', maxsplit=1)[0]}"
    return f"invalid {prefix}* settings: {message}"
