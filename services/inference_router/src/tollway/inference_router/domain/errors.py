"""Typed domain errors: each carries the HTTP status and a message the caller can act on."""

from __future__ import annotations

import re

import msgspec

_MSGSPEC_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_MISSING_FIELD = re.compile(r"missing required field `(?P<field>[^`]+)`")


class DomainError(Exception):
    """Base of every error the domain raises; ``status`` is the HTTP status the API should answer with."""

    status = 500

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class InvalidRequestError(DomainError):
    """The body is malformed or a field has the wrong type (400)."""

    status = 400


class UnprocessableRequestError(DomainError):
    """The body is well-formed but semantically invalid, e.g. ``max_tokens <= 0`` (422)."""

    status = 422


class UpstreamProtocolError(DomainError):
    """An upstream answered with something we cannot decode, or a stream ended before completing (502)."""

    status = 502


class UpstreamStreamError(DomainError):
    """An upstream reported an error inside an already-started stream; ``upstream_status`` is its own code."""

    status = 502

    def __init__(self, message: str, *, upstream_status: int) -> None:
        super().__init__(message)
        self.upstream_status = upstream_status


class CatalogError(Exception):
    """The catalogue file is invalid; the message names the offending entry, e.g. ``models[2].deployments[0]``."""


def invalid_field(field: str, problem: str) -> UnprocessableRequestError:
    """A 422 for ``field`` whose message starts with the field path so the user knows what to fix."""
    return UnprocessableRequestError(f"{field}: {problem}", param=field)


def describe_validation_error(error: msgspec.ValidationError) -> tuple[str, str]:
    """Split msgspec's ``Expected `int`, got `str` - at `$.items[0].count``` → ``("items[0].count", "Expected …")``.

    A missing field is reported at its own path: ``("items[0].count", "required field is missing")``.
    """
    text = str(error)
    found = _MSGSPEC_PATH.search(text)
    path = found.group("path") if found else ""
    problem = text[: found.start()] if found else text
    missing = _MISSING_FIELD.search(problem)
    if missing:
        return (f"{path}.{missing.group('field')}" if path else missing.group("field")), "required field is missing"
    return path, problem


# msgspec raises these beyond its own errors: invalid UTF-8 in a string, nesting past ~1,000 levels.
UNDECODABLE = (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def from_validation_error(error: Exception) -> InvalidRequestError:
    """A 400 whose message starts with the offending field path, e.g. ``messages[0].role: Invalid value 'x'``."""
    if not isinstance(error, msgspec.ValidationError):
        return InvalidRequestError(f"request body is not valid JSON: {error}")
    path, problem = describe_validation_error(error)
    return InvalidRequestError(f"{path}: {problem}" if path else f"invalid request body: {problem}", param=path or None)
