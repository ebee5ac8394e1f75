"""Errors shaped like OpenAI's: ``{"error": {"message", "type", "param", "code"}}``, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from tollway.error_monitor.domain.views import AlreadyResolvedError, InvalidQueryError, NotFoundError
from tollway.platform.http import error_response, unexpected_error

log = logging.getLogger(__name__)


def on_invalid_query(request: Request[Any, Any, Any], exc: InvalidQueryError) -> Response[dict[str, Any]]:
    return error_response(422, exc.message, param=exc.param)


def on_not_found(request: Request[Any, Any, Any], exc: NotFoundError) -> Response[dict[str, Any]]:
    return error_response(404, str(exc))


def on_already_resolved(request: Request[Any, Any, Any], exc: AlreadyResolvedError) -> Response[dict[str, Any]]:
    return error_response(409, str(exc))


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
    HTTPException: on_http_error,
    Exception: unexpected_error,
}
