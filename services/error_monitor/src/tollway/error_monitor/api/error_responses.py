"""Errors shaped like OpenAI's: ``{"error": {"message", "type", "param", "code"}}``, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from tollway.error_monitor.domain.views import AlreadyResolvedError, InvalidQueryError, NotFoundError

log = logging.getLogger(__name__)

_KINDS = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("authentication_error", "unauthorized"),
    403: ("permission_error", "forbidden"),
    404: ("invalid_request_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    409: ("invalid_request_error", "conflict"),
    422: ("invalid_request_error", "invalid_parameter"),
}


def error_response(
    status: int, message: str, *, param: str | None = None, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    error_type, code = _KINDS.get(status, ("server_error" if status >= 500 else "invalid_request_error", "error"))
    body = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
    return Response(body, status_code=status, headers=headers)


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


def on_unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # Logged with its traceback for operators; the client gets the plain error shape.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal error")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    InvalidQueryError: on_invalid_query,
    NotFoundError: on_not_found,
    AlreadyResolvedError: on_already_resolved,
    HTTPException: on_http_error,
    Exception: on_unexpected_error,
}
