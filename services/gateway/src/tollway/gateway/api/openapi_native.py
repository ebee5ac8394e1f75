"""The Gemini and Bedrock Runtime operations of ``GET /openapi.json``: path-matched hot routes Litestar never sees."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tollway.gateway.domain.native_envelopes import NATIVE_ROUTES, NativeRoute

Document = dict[str, Any]

_POSITIVE = {"type": "integer", "minimum": 1}
_GEMINI_BODY: Document = {
    "type": "object",
    "required": ["contents"],
    "properties": {
        "contents": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["parts"],
                "properties": {"role": {"type": "string"}, "parts": {"type": "array", "items": {"type": "object"}}},
            },
        },
        "systemInstruction": {"type": "object"},
        "tools": {"type": "array", "items": {"type": "object"}},
        "generationConfig": {"type": "object", "properties": {"maxOutputTokens": _POSITIVE}},
    },
    "additionalProperties": True,
}
_CONVERSE_BODY: Document = {
    "type": "object",
    "required": ["messages"],
    "properties": {
        "messages": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["role", "content"],
                "properties": {"role": {"type": "string"}, "content": {"type": "array", "items": {"type": "object"}}},
            },
        },
        "system": {"type": "array", "items": {"type": "object"}},
        "inferenceConfig": {"type": "object", "properties": {"maxTokens": _POSITIVE}},
        "toolConfig": {"type": "object"},
    },
    "additionalProperties": True,
}
COMPONENTS: Document = {
    "schemas": {
        "GeminiError": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message", "status"],
                    "properties": {
                        "code": {"type": "integer"},
                        "message": {"type": "string"},
                        "status": {"type": "string", "description": "Google's canonical status, e.g. NOT_FOUND"},
                    },
                }
            },
        },
        "BedrockError": {
            "type": "object",
            "required": ["message"],
            "properties": {"message": {"type": "string"}},
            "description": "AWS rest-json error; its name (e.g. ThrottlingException) is in x-amzn-ErrorType",
        },
        "GenerateContentRequest": _GEMINI_BODY,
        "ConverseRequest": _CONVERSE_BODY,
    },
    "securitySchemes": {
        "x-goog-api-key": {"type": "apiKey", "in": "header", "name": "x-goog-api-key"},
        "key": {"type": "apiKey", "in": "query", "name": "key", "description": "a Tollway key (Gemini's ?key=)"},
        "sigv4": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "AWS SigV4 with the Tollway key as the access key id (the signature is not checked)",
        },
    },
}
_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "gemini": [{"x-goog-api-key": []}, {"key": []}, {"bearer": []}],
    "bedrock": [{"sigv4": []}, {"bearer": []}],
}


def native_paths(error_statuses: Mapping[str, str]) -> Document:
    """Every ``NativeRoute`` as an OpenAPI path item (``POST`` only), refusals described as ``error_statuses``."""
    return {template: {"post": _operation(route, error_statuses)} for template, route in NATIVE_ROUTES.items()}


def _operation(route: NativeRoute, error_statuses: Mapping[str, str]) -> Document:
    gemini = route.api == "gemini"
    name = "model" if gemini else "modelId"
    parameters: list[Document] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
    ]
    if gemini and route.stream:
        parameters.append({"name": "alt", "in": "query", "required": True, "schema": {"enum": ["sse"]}})
    error = {"$ref": f"#/components/schemas/{'GeminiError' if gemini else 'BedrockError'}"}
    errors = {
        status: {"description": text, "content": {"application/json": {"schema": error}}}
        for status, text in error_statuses.items()
    }
    return {
        "summary": _summary(route),
        "operationId": _operation_id(route),
        "security": _SECURITY[route.api],
        "parameters": parameters,
        "requestBody": {"required": True, "content": {"application/json": {"schema": _body(gemini)}}},
        "responses": {"200": {"description": "the answer", "content": _answer(route)}} | errors,
    }


def _body(gemini: bool) -> Document:
    return {"$ref": f"#/components/schemas/{'GenerateContentRequest' if gemini else 'ConverseRequest'}"}


def _answer(route: NativeRoute) -> Document:
    if not route.stream:
        return {"application/json": {"schema": {"type": "object"}}}
    if route.api == "gemini":
        return {"text/event-stream": {"schema": {"type": "string"}}}
    return {"application/vnd.amazon.eventstream": {"schema": {"type": "string", "format": "binary"}}}


def _summary(route: NativeRoute) -> str:
    if route.api == "gemini":
        return "Gemini streamGenerateContent (SSE)" if route.stream else "Gemini generateContent"
    return "Bedrock Runtime ConverseStream (AWS event stream)" if route.stream else "Bedrock Runtime Converse"


def _operation_id(route: NativeRoute) -> str:
    version = route.template.split("/")[1]
    names = {
        "gemini_generate_content": f"geminiGenerateContent{version.capitalize()}",
        "gemini_stream_generate_content": f"geminiStreamGenerateContent{version.capitalize()}",
    }
    return names.get(route.name, "bedrockConverseStream" if route.stream else "bedrockConverse")
