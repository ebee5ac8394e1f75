"""Errors shaped like OpenAI's: ``{"error": {"message", "type", "param", "code"}}``, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from tollway.error_monitor.domain.suggestions import (
    AdvisorError,
    IdempotencyConflictError,
    SuggestionsNotConfiguredError,
)
from tollway.error_monitor.domain.views import AlreadyResolvedError, InvalidQueryError, NotFoundError
from tollway.error_monitor.settings import SUGGEST_SETTINGS
from tollway.platform.http import error_response, unexpected_error

log = logging.getLogger(__name__)


def on_invalid_query(request: Request[Any, Any, Any], exc: InvalidQueryError) -> Response[dict[str, Any]]:
    return error_response(422, exc.message, param=exc.param)


def on_not_found(request: Request[Any, Any, Any], exc: NotFoundError) -> Response[dict[str, Any]]:
    return error_response(404, str(exc))


def on_already_resolved(request: Request[Any, Any, Any], exc: AlreadyResolvedError) -> Response[dict[str, Any]]:
    return error_response(409, str(exc))


def on_idempotency_conflict(request: Request[Any, Any, Any], exc: IdempotencyConflictError) -> Response[dict[str, Any]]:
    return error_response(409, str(exc), param="Idempotency-Key")


def _unavailable(status: int, message: str, code: str) -> Response[dict[str, Any]]:
    body = {"error": {"message": message, "type": "api_error", "param": None, "code": code}}
    return Response(body, status_code=status)


def on_not_configured(request: Request[Any, Any, Any], exc: SuggestionsNotConfiguredError) -> Response[dict[str, Any]]:
    names = ", ".join(SUGGEST_SETTINGS)
    message = f"fix suggestions are not configured: set {names} (a Tollway gateway, an API key and a model)"
    return _unavailable(503, message, "suggestions_not_configured")


def on_advisor_error(request: Request[Any, Any, Any], exc: AdvisorError) -> Response[dict[str, Any]]:
    """The gateway's failure as a gateway error of ours: 504 too slow, 503 unreachable or busy, else 502."""
    if exc.failure == "timeout":
        return _unavailable(504, exc.detail, "gateway_timeout")
    if exc.failure == "unreachable" or exc.status in (429, 503):
        detail = exc.detail or f"Tollway's gateway answered {exc.status}"
        return _unavailable(503, f"{detail}; try again shortly", "gateway_unavailable")
    if exc.failure == "refused":
        said = f": {exc.detail}" if exc.detail else ""
        return _unavailable(502, f"Tollway's gateway answered {exc.status}{said}", "bad_gateway")
    return _unavailable(502, exc.detail, "bad_gateway")


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, ValidationException):
        return error_response(400 if request.method == "POST" else 422, exc.detail)
    if exc.status_code >= 500:
        log.error("server error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(exc.status_code, exc.detail, headers=exc.headers)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    InvalidQueryError: on_invalid_query,
    NotFoundError: on_not_found,
    AlreadyResolvedError: on_already_resolved,
    IdempotencyConflictError: on_idempotency_conflict,
    SuggestionsNotConfiguredError: on_not_configured,
    AdvisorError: on_advisor_error,
    HTTPException: on_http_error,
    Exception: unexpected_error,
}
