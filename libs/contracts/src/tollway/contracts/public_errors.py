"""Error bodies of the public APIs (OpenAI, Anthropic, Gemini, Bedrock), shared by every service answering a client."""

from __future__ import annotations

import msgspec

_encoder = msgspec.json.Encoder()
SERVER_ERROR = 500

# OpenAI itself answers an unknown model with 404 and type invalid_request_error (code model_not_found).
OPENAI_TYPES = {
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    429: "rate_limit_error",
}
ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def openai_error_type(status: int) -> str:
    return OPENAI_TYPES.get(status, "invalid_request_error" if status < SERVER_ERROR else "server_error")


def anthropic_error_type(status: int) -> str:
    return ANTHROPIC_TYPES.get(status, "invalid_request_error" if status < SERVER_ERROR else "api_error")


def openai_error_body(status: int, message: str, *, param: str | None = None, code: str | None = None) -> bytes:
    """``{"error": {"message", "type", "param", "code"}}`` as the OpenAI SDKs expect it."""
    return _encoder.encode(
        {"error": {"message": message, "type": openai_error_type(status), "param": param, "code": code}}
    )


def anthropic_error_body(status: int, message: str) -> bytes:
    """``{"type": "error", "error": {"type", "message"}}`` as the Anthropic SDKs expect it."""
    return _encoder.encode({"type": "error", "error": {"type": anthropic_error_type(status), "message": message}})


# Google's canonical status names; 402 (no credit) is FAILED_PRECONDITION, not RESOURCE_EXHAUSTED, which clients
# read as "retry later" (429): more credit, not waiting, fixes it.
GEMINI_STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    402: "FAILED_PRECONDITION",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
# The AWS error names Bedrock Runtime answers with (botocore raises the modelled exception class of that name).
# 401 is AWS's name for credentials it does not recognise; 402 (no credit or budget) is the service quota one.
BEDROCK_ERROR_TYPES = {
    400: "ValidationException",
    401: "UnrecognizedClientException",
    402: "ServiceQuotaExceededException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    405: "UnknownOperationException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    502: "ServiceUnavailableException",
    503: "ServiceUnavailableException",
    504: "ModelTimeoutException",
}
BEDROCK_ERROR_HEADER = "x-amzn-errortype"


def gemini_status(status: int) -> str:
    return GEMINI_STATUSES.get(status, "INVALID_ARGUMENT" if status < SERVER_ERROR else "INTERNAL")


def gemini_error_body(status: int, message: str) -> bytes:
    """``{"error": {"code", "message", "status"}}`` as google-genai reads it (``ClientError`` / ``ServerError``)."""
    return _encoder.encode({"error": {"code": status, "message": message, "status": gemini_status(status)}})


def bedrock_error_type(status: int) -> str:
    return BEDROCK_ERROR_TYPES.get(
        status, "ValidationException" if status < SERVER_ERROR else "InternalServerException"
    )


def bedrock_error_body(message: str) -> bytes:
    """AWS rest-json: ``{"message"}``; the error's name travels in ``x-amzn-ErrorType`` (``bedrock_error_type``)."""
    return _encoder.encode({"message": message})
