"""Errors shaped like OpenAI's: ``{"error": {"message", "type", "param", "code"}}``, never a traceback."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from tollway.billing.domain.errors import (
    BillingError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    UnprocessableError,
)

_STATUS = ((InvalidInputError, 400), (NotFoundError, 404), (ConflictError, 409), (UnprocessableError, 422))
_CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
_TYPES = {401: "authentication_error", 403: "permission_error", 404: "not_found_error", 409: "conflict_error"}


def error_response(
    status: int, message: str, *, code: str, param: str | None = None, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    error_type = _TYPES.get(status, "invalid_request_error")
    body = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
    return Response(body, status_code=status, headers=headers)


def on_billing_error(request: Request[Any, Any, Any], exc: BillingError) -> Response[dict[str, Any]]:
    status = next((status for kind, status in _STATUS if isinstance(exc, kind)), 400)
    return error_response(status, exc.message, code=exc.code, param=exc.param)


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, ValidationException):
        return error_response(400, _validation_message(exc), code="invalid_request", param=_validation_param(exc))
    status = exc.status_code
    return error_response(status, exc.detail, code=_CODES.get(status, "error"), headers=exc.headers)


def _problems(exc: ValidationException) -> list[dict[str, Any]]:
    return [p for p in exc.extra if isinstance(p, dict)] if isinstance(exc.extra, list) else []


def _validation_message(exc: ValidationException) -> str:
    details = "; ".join(str(p.get("message", "")) for p in _problems(exc))
    return f"invalid request: {details}" if details else "invalid request"


def _validation_param(exc: ValidationException) -> str | None:
    for problem in _problems(exc):
        # msgspec names the field in its message (``... at `$.max_uses```, ``unknown field `x```); Litestar's key is
        # only where it looked ("data" for the body).
        named = _FIELD.search(str(problem.get("message", "")))
        if named:
            return named[1] or named[2]
        if problem.get("key"):
            return str(problem["key"])
    return None


_FIELD = re.compile(r"unknown field `([^`]+)`|at `\$\.([A-Za-z_][A-Za-z0-9_]*)")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {BillingError: on_billing_error, HTTPException: on_http_error}
