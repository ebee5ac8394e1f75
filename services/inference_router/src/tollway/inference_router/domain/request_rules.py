"""Semantic checks on a decoded request (422s) shared by both public formats, and the image/argument rules."""

from __future__ import annotations

import msgspec

from tollway.inference_router.domain.canonical import ChatRequest
from tollway.inference_router.domain.catalog import Model
from tollway.inference_router.domain.errors import invalid_field

_JSON_OBJECT = msgspec.json.Decoder(dict[str, object])


def check_request(request: ChatRequest, *, max_temperature: float) -> None:
    """Ranges and cross-field rules; ``max_temperature`` is 2 for OpenAI and 1 for Anthropic."""
    if not request.messages:
        raise invalid_field("messages", "must contain at least one message")
    if request.max_tokens is not None and request.max_tokens < 1:
        raise invalid_field("max_tokens", f"must be at least 1, got {request.max_tokens}")
    if request.temperature is not None and not 0 <= request.temperature <= max_temperature:
        raise invalid_field("temperature", f"must be between 0 and {max_temperature:g}, got {request.temperature:g}")
    if request.top_p is not None and not 0 <= request.top_p <= 1:
        raise invalid_field("top_p", f"must be between 0 and 1, got {request.top_p:g}")
    if request.top_k is not None and request.top_k < 1:
        raise invalid_field("top_k", f"must be at least 1, got {request.top_k}")
    _check_tool_choice(request)


def _check_tool_choice(request: ChatRequest) -> None:
    choice = request.tool_choice
    if choice is None or choice.mode in {"auto", "none"}:
        return
    if not request.tools:
        raise invalid_field("tool_choice", f"'{choice.mode}' needs at least one tool in 'tools'")
    if choice.mode == "tool" and choice.name not in {tool.name for tool in request.tools}:
        raise invalid_field("tool_choice", f"names tool '{choice.name}', which is not in 'tools'")


def check_image_url(url: str, field: str) -> None:
    """Images must be fetchable (http/https) or inline as a base64 data URL, which every upstream accepts."""
    if url.startswith(("https://", "http://")):
        return
    if split_data_url(url) is None:
        raise invalid_field(field, "must be an http(s) URL or a data URL of the form data:<media type>;base64,<data>")


def split_data_url(url: str) -> tuple[str, str] | None:
    """``data:image/png;base64,AAAA`` → ``("image/png", "AAAA")``; ``None`` if it is not a base64 data URL."""
    if not url.startswith("data:"):
        return None
    header, comma, data = url[5:].partition(",")
    media_type, marker, _ = header.partition(";base64")
    if not comma or not marker or "/" not in media_type:
        return None
    return media_type, data


def check_arguments(arguments: str, field: str) -> None:
    """Tool-call arguments must be a JSON object (or empty), so any upstream format can carry them."""
    if not arguments:
        return
    try:
        _JSON_OBJECT.decode(arguments)
    except msgspec.DecodeError:
        raise invalid_field(field, "must be a JSON object encoded as a string") from None


def decode_arguments(arguments: str) -> dict[str, object]:
    """Arguments text → object; text that is not an object is kept under ``_raw`` rather than lost."""
    if not arguments:
        return {}
    try:
        return _JSON_OBJECT.decode(arguments)
    except msgspec.DecodeError:
        return {"_raw": arguments}


def check_model_limits(request: ChatRequest, model: Model) -> None:
    """Run once the model is known: an output cap beyond the model's would fail upstream anyway."""
    if request.max_tokens is not None and request.max_tokens > model.max_output_tokens:
        limit = model.max_output_tokens
        raise invalid_field("max_tokens", f"must be at most {limit} for model '{model.id}', got {request.max_tokens}")
