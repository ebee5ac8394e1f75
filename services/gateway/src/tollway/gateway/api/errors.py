"""Errors shaped like OpenAI's: ``{"error": {"message", "type", "param", "code"}}``, never a traceback."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.types import ExceptionHandlersMap

from tollway.gateway.domain.errors import ConflictError, GatewayError, InvalidInputError, NotFoundError

_STATUS = ((InvalidInputError, 400), (NotFoundError, 404), (ConflictError, 409))
_CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}


class InvalidCredentials(NotAuthorizedException):
    """401 with a stable error code (``invalid_api_key`` / ``invalid_admin_key``)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})
        self.code = code


def error_response(
    status: int, message: str, *, code: str, param: str | None = None, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    error_type = "authentication_error" if status == 401 else "invalid_request_error"
    body = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
    return Response(body, status_code=status, headers=headers)


def on_gateway_error(request: Request[Any, Any, Any], exc: GatewayError) -> Response[dict[str, Any]]:
    status = next((status for kind, status in _STATUS if isinstance(exc, kind)), 400)
    return error_response(status, exc.message, code=exc.code, param=exc.param)


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, InvalidCredentials):
        return error_response(401, exc.detail, code=exc.code, headers=exc.headers)
    if isinstance(exc, ValidationException):
        return error_response(400, _validation_message(exc), code="invalid_request", param=_validation_param(exc))
    status = exc.status_code
    return error_response(status, exc.detail, code=_CODES.get(status, "error"), headers=exc.headers)


def _validation_message(exc: ValidationException) -> str:
    problems = exc.extra if isinstance(exc.extra, list) else []
    details = "; ".join(str(p.get("message", "")) for p in problems if isinstance(p, dict))
    return f"invalid request body: {details}" if details else "invalid request body"


def _validation_param(exc: ValidationException) -> str | None:
    problems = exc.extra if isinstance(exc.extra, list) else []
    for problem in problems:
        if isinstance(problem, dict) and problem.get("key"):
            return str(problem["key"])
    return None


EXCEPTION_HANDLERS: ExceptionHandlersMap = {GatewayError: on_gateway_error, HTTPException: on_http_error}
