"""``GET /openapi.json``: the gateway's whole public surface, Litestar's routes plus the hot routes described here."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import msgspec
from litestar import Litestar

from tollway.gateway.api.exchange import Send, encode_headers, send_whole
from tollway.gateway.api.openapi_native import COMPONENTS as NATIVE_COMPONENTS
from tollway.gateway.api.openapi_native import native_paths
from tollway.gateway.api.public_errors import error_body
from tollway.gateway.domain.rejections import MethodNotAllowedError

PATH = "/openapi.json"
TITLE = "Tollway gateway"
VERSION = "1"
Document = dict[str, Any]

_OPENAI_ERROR = {"$ref": "#/components/schemas/OpenAIError"}
_ANTHROPIC_ERROR = {"$ref": "#/components/schemas/AnthropicError"}
_RATE_HEADERS = {
    f"x-ratelimit-{part}-{kind}": {"schema": {"type": "string"}, "description": f"{part} of the tightest {kind} window"}
    for kind in ("requests", "tokens")
    for part in ("limit", "remaining", "reset")
}
_SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"x-api-key": []}]
_ERROR_STATUSES = {
    "400": "malformed body or an invalid field (a Gemini stream without alt=sse)",
    "401": "missing, invalid or revoked API key",
    "402": "insufficient credit",
    "403": "the key may not do this (no inference scope, address not allowed)",
    "404": "unknown model",
    "405": "wrong method",
    "413": "body or token estimate too large",
    "429": "rate limited (see retry-after)",
    "502": "the inference router could not be reached",
    "503": "a dependency is unavailable; retry shortly",
}
_MESSAGE = {"type": "object", "required": ["role"], "properties": {"role": {"type": "string"}}}
_CHAT_BODY: Document = {
    "type": "object",
    "required": ["model", "messages"],
    "properties": {
        "model": {"type": "string", "minLength": 1},
        "messages": {"type": "array", "items": _MESSAGE},
        "max_tokens": {"type": "integer", "minimum": 1},
        "max_completion_tokens": {"type": "integer", "minimum": 1},
        "stream": {"type": "boolean"},
        "temperature": {"type": "number", "minimum": 0, "maximum": 2},
    },
    "additionalProperties": True,
}
_MESSAGES_BODY: Document = {
    "type": "object",
    "required": ["model", "messages", "max_tokens"],
    "properties": {
        "model": {"type": "string", "minLength": 1},
        "messages": {"type": "array", "items": _MESSAGE},
        "max_tokens": {"type": "integer", "minimum": 1},
        "system": {"type": "string"},
        "stream": {"type": "boolean"},
    },
    "additionalProperties": True,
}
_COMPONENTS: Document = {
    "schemas": {
        "OpenAIError": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["message", "type", "param", "code"],
                    "properties": {
                        "message": {"type": "string"},
                        "type": {"type": "string"},
                        "param": {"type": ["string", "null"]},
                        "code": {"type": ["string", "integer", "null"]},
                    },
                }
            },
        },
        "AnthropicError": {
            "type": "object",
            "required": ["type", "error"],
            "properties": {
                "type": {"const": "error"},
                "error": {
                    "type": "object",
                    "required": ["type", "message"],
                    "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
        "ChatCompletionRequest": _CHAT_BODY,
        "MessagesRequest": _MESSAGES_BODY,
    },
    "securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer", "description": "a Tollway API key (tw_...)"},
        "x-api-key": {"type": "apiKey", "in": "header", "name": "x-api-key"},
    },
}
# The hot routes this module knows in detail; any other one is described as an OpenAI-shaped JSON route.
_KNOWN: dict[str, tuple[str, str, Document, Document]] = {
    "/v1/chat/completions": (
        "OpenAI chat completions (JSON, or SSE with stream: true)",
        "createChatCompletion",
        {"$ref": "#/components/schemas/ChatCompletionRequest"},
        _OPENAI_ERROR,
    ),
    "/v1/messages": (
        "Anthropic messages (JSON, or SSE with stream: true)",
        "createMessage",
        {"$ref": "#/components/schemas/MessagesRequest"},
        _ANTHROPIC_ERROR,
    ),
}
_GENERIC_BODY: Document = {"type": "object", "required": ["model"], "properties": {"model": {"type": "string"}}}


def public_document(app: Litestar, hot_paths: Iterable[str]) -> Document:
    """Litestar's generated document plus every hot route, ``/v1/models`` and the Gemini and Bedrock routes.

    Every client route also exists as ``/ak/{key}/...`` (the key in the path, for clients that cannot set
    headers); those copies take the key as a path parameter instead of a header.
    """
    document: Document = copy.deepcopy(app.openapi_schema.to_schema())
    document["info"] = {"title": TITLE, "version": VERSION, "description": "OpenAI- and Anthropic-compatible API"}
    paths: Document = document.setdefault("paths", {})
    for path in hot_paths:
        paths[path] = {"post": _hot_operation(path)}
    paths["/v1/models"] = {"get": _models_operation()}
    paths.update(native_paths(_ERROR_STATUSES))  # Gemini's and Bedrock's routes, matched by a path pattern
    for path in [p for p in paths if p.startswith("/v1/")]:
        paths["/ak/{key}" + path] = _with_path_key(paths[path])
    components: Document = document.setdefault("components", {})
    for section, entries in (*_COMPONENTS.items(), *NATIVE_COMPONENTS.items()):
        components.setdefault(section, {}).update(entries)
    return document


def _hot_operation(path: str) -> Document:
    summary, operation_id, body, error = _KNOWN.get(
        path, (f"POST {path}", _operation_id(path), _GENERIC_BODY, _OPENAI_ERROR)
    )
    content = {"application/json": {"schema": {"type": "object"}}, "text/event-stream": {"schema": {"type": "string"}}}
    return {
        "summary": summary,
        "operationId": operation_id,
        "security": _SECURITY,
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {"200": {"description": "the answer", "headers": _RATE_HEADERS, "content": content}}
        | _error_responses(error),
    }


def _models_operation() -> Document:
    listed = {"type": "object", "required": ["object", "data"], "properties": {"data": {"type": "array"}}}
    return {
        "summary": "The models this key may use, with limits and prices",
        "operationId": "listModels",
        "security": _SECURITY,
        "responses": {"200": {"description": "the list", "content": {"application/json": {"schema": listed}}}}
        | _error_responses(_OPENAI_ERROR, ("401", "503")),
    }


def _error_responses(schema: Document, statuses: Iterable[str] = _ERROR_STATUSES) -> Document:
    return {
        status: {"description": _ERROR_STATUSES[status], "content": {"application/json": {"schema": schema}}}
        for status in statuses
    }


def _with_path_key(item: Document) -> Document:
    key = {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}, "description": "API key"}
    copied: Document = copy.deepcopy(item)
    for method, operation in copied.items():
        if not isinstance(operation, dict) or method == "parameters":
            continue
        operation["parameters"] = [key, *operation.get("parameters", [])]
        operation.pop("security", None)
        if "operationId" in operation:
            operation["operationId"] += "WithPathKey"
    return copied


def _operation_id(path: str) -> str:
    parts = [part for part in path.replace("-", "/").split("/") if part and part != "v1"]
    return "post" + "".join(part.capitalize() for part in parts)


class OpenApiDocument:
    """Serves the document, encoded once per app (the routes do not change while it runs)."""

    def __init__(self) -> None:
        self._encoded: bytes | None = None

    async def serve(self, scope: dict[str, Any], send: Send, hot_paths: Iterable[str]) -> None:
        if scope["method"] != "GET":
            error = MethodNotAllowedError("use GET")
            headers = encode_headers((("content-type", "application/json"), ("allow", "GET")))
            await send_whole(send, error.status, headers, error_body("openai", error))
            return
        if self._encoded is None:
            self._encoded = msgspec.json.encode(public_document(scope["app"], hot_paths))
        await send_whole(send, 200, encode_headers((("content-type", "application/json"),)), self._encoded)
