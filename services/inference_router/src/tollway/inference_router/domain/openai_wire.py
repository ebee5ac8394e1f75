"""OpenAI Chat Completions wire shapes (request, response, stream chunk), used to decode and encode exactly."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType


class Wire(msgspec.Struct, omit_defaults=True, kw_only=True):
    """Base: ``None``/unset fields are left out of encoded bodies, unknown fields are ignored when decoding."""


class TextPartIn(Wire, tag="text", tag_field="type"):
    text: str


class ImageUrlIn(Wire):
    url: str
    detail: str | None = None


class ImagePartIn(Wire, tag="image_url", tag_field="type"):
    image_url: ImageUrlIn


class RefusalPartIn(Wire, tag="refusal", tag_field="type"):
    refusal: str


class FunctionCallIn(Wire):
    name: str
    arguments: str


class ToolCallIn(msgspec.Struct, kw_only=True):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCallIn


class SystemMessageIn(Wire, tag="system", tag_field="role"):
    content: str | list[TextPartIn]
    name: str | None = None


class DeveloperMessageIn(Wire, tag="developer", tag_field="role"):
    content: str | list[TextPartIn]
    name: str | None = None


class UserMessageIn(Wire, tag="user", tag_field="role"):
    content: str | list[TextPartIn | ImagePartIn]
    name: str | None = None


class AssistantMessageIn(Wire, tag="assistant", tag_field="role"):
    content: str | list[TextPartIn | RefusalPartIn] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    refusal: str | None = None


class ToolMessageIn(Wire, tag="tool", tag_field="role"):
    content: str | list[TextPartIn]
    tool_call_id: str


MessageIn = SystemMessageIn | DeveloperMessageIn | UserMessageIn | AssistantMessageIn | ToolMessageIn


class FunctionDefinitionIn(Wire):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class ToolIn(msgspec.Struct, kw_only=True):
    type: Literal["function"] = "function"
    function: FunctionDefinitionIn


class NamedFunctionIn(Wire):
    name: str


class NamedToolChoiceIn(msgspec.Struct, kw_only=True):
    type: Literal["function"] = "function"
    function: NamedFunctionIn


ToolChoiceWire = Literal["none", "auto", "required"]


class StreamOptionsIn(Wire):
    include_usage: bool | None = None


class ChatCompletionIn(Wire):
    model: str
    messages: list[MessageIn]
    tools: list[ToolIn] | None = None
    tool_choice: ToolChoiceWire | NamedToolChoiceIn | None = None
    parallel_tool_calls: bool | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    n: int | None = None
    stop: str | list[str] | None = None
    stream: bool | None = None
    stream_options: StreamOptionsIn | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    response_format: dict[str, Any] | None = None
    seed: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None


class PromptDetails(msgspec.Struct, kw_only=True):
    cached_tokens: int | None = None


class CompletionDetails(msgspec.Struct, kw_only=True):
    reasoning_tokens: int | None = None


class UsageWire(msgspec.Struct, kw_only=True):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: PromptDetails | None = None
    completion_tokens_details: CompletionDetails | None = None


class ResponseMessage(msgspec.Struct, kw_only=True):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    tool_calls: list[ToolCallIn] | UnsetType | None = UNSET
    refusal: str | None = None


class ResponseChoice(msgspec.Struct, kw_only=True):
    index: int = 0
    message: ResponseMessage
    logprobs: object = None
    finish_reason: str | None = None


class ChatCompletionOut(msgspec.Struct, kw_only=True):
    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    choices: list[ResponseChoice] = []
    usage: UsageWire | None = None


class FunctionDelta(Wire):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(Wire):
    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: FunctionDelta | None = None


class ChunkDelta(Wire):
    role: str | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None
    refusal: str | None = None


class ChunkChoice(msgspec.Struct, kw_only=True):
    index: int = 0
    delta: ChunkDelta = msgspec.field(default_factory=ChunkDelta)
    logprobs: object = None
    finish_reason: str | None = None


class ErrorWire(msgspec.Struct):
    message: str = ""
    type: str | None = None
    code: str | int | None = None


class ChatCompletionChunk(msgspec.Struct, kw_only=True):
    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChunkChoice] = []
    usage: UsageWire | UnsetType | None = UNSET
    error: ErrorWire | UnsetType = UNSET
