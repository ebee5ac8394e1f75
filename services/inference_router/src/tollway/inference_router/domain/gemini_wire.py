"""Gemini ``generateContent`` wire shapes (camelCase on the wire), for requests sent and answers read."""

from __future__ import annotations

from typing import Any

import msgspec

from tollway.inference_router.domain.gemini_usage import UsageMetadataWire


class Wire(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    """Unknown fields in answers are ignored: Gemini adds fields often."""


class Blob(Wire):
    mime_type: str
    data: str


class FileData(Wire):
    file_uri: str
    mime_type: str | None = None


class FunctionCall(Wire):
    name: str = ""
    args: dict[str, Any] = {}
    id: str | None = None


class FunctionResponse(Wire):
    name: str
    response: dict[str, Any]
    id: str | None = None


class Part(Wire):
    text: str | None = None
    thought: bool | None = None
    inline_data: Blob | None = None
    file_data: FileData | None = None
    function_call: FunctionCall | None = None
    function_response: FunctionResponse | None = None


class Content(Wire):
    parts: list[Part] = []
    role: str | None = None


class FunctionDeclaration(Wire):
    name: str
    description: str | None = None
    parameters_json_schema: dict[str, Any] | None = None


class ToolWire(Wire):
    function_declarations: list[FunctionDeclaration]


class FunctionCallingConfig(Wire):
    mode: str
    allowed_function_names: list[str] | None = None


class ToolConfigWire(Wire):
    function_calling_config: FunctionCallingConfig


class GenerationConfig(Wire):
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop_sequences: list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    response_mime_type: str | None = None
    response_json_schema: dict[str, Any] | None = None


class GenerateContentIn(Wire):
    contents: list[Content]
    system_instruction: Content | None = None
    tools: list[ToolWire] | None = None
    tool_config: ToolConfigWire | None = None
    generation_config: GenerationConfig | None = None


class Candidate(Wire):
    content: Content | None = None
    finish_reason: str | None = None
    index: int = 0


class ErrorWire(msgspec.Struct, kw_only=True):
    code: int = 500
    message: str = ""
    status: str = ""


class GenerateContentOut(Wire):
    candidates: list[Candidate] = []
    usage_metadata: UsageMetadataWire | None = None
    model_version: str = ""
    response_id: str = ""
    error: ErrorWire | None = None
