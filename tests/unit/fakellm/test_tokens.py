"""Deterministic token counting, completion text, tool arguments and answer planning."""

import msgspec
import pytest

from tollway.fakellm.completion import plan_answer, tool_call
from tollway.fakellm.controls import Controls
from tollway.fakellm.tokens import completion_text, placeholder_arguments, prompt_tokens, text_chars, token_piece


@pytest.mark.parametrize(("chars", "tokens"), [(0, 1), (1, 1), (4, 1), (5, 2), (8, 2), (401, 101)])
def test_prompt_tokens_are_a_quarter_of_the_characters_rounded_up(chars: int, tokens: int) -> None:
    assert prompt_tokens(chars) == tokens


def test_text_chars_walks_strings_parts_and_nested_tool_results() -> None:
    content = [
        {"type": "text", "text": "abcd"},
        {"type": "image_url", "image_url": {"url": "http://x"}},
        {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": "ef"}]},
        {"type": "tool_result", "tool_use_id": "u", "content": "ghi"},
    ]
    assert text_chars(content) == 9
    assert text_chars("hello") == 5
    assert text_chars(None) == 0
    assert text_chars(42) == 0


def test_completion_text_is_numbered_tokens() -> None:
    assert completion_text(3) == "tok0 tok1 tok2"
    assert completion_text(0) == ""
    assert "".join(token_piece(i) for i in range(3)) == completion_text(3)


def test_placeholder_arguments_fill_required_properties_by_type() -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "when": {"type": "object", "properties": {"hour": {"type": "number"}}, "required": ["hour"]},
            "maybe": {"type": ["boolean", "null"]},
            "optional": {"type": "string"},
        },
        "required": ["city", "days", "unit", "when", "maybe"],
    }
    assert placeholder_arguments(schema) == {"city": "fake", "days": 1, "unit": "c", "when": {"hour": 1}, "maybe": True}


@pytest.mark.parametrize("schema", [None, {}, {"type": "object", "properties": {"a": {"type": "string"}}}, "x"])
def test_placeholder_arguments_without_required_properties_are_empty(schema: object) -> None:
    assert placeholder_arguments(schema) == {}


def test_tool_call_carries_arguments_as_json_text() -> None:
    call = tool_call("lookup", {"properties": {"q": {"type": "string"}}, "required": ["q"]})
    assert msgspec.json.decode(call.arguments_json) == {"q": "fake"}
    assert "".join(call.argument_pieces()) == call.arguments_json


def test_plan_caps_text_at_max_tokens_and_adds_reasoning() -> None:
    answer = plan_answer(Controls(reasoning_tokens=4), prompt_chars=10, max_tokens=5, tool=None)
    assert (answer.prompt_tokens, answer.text_tokens, answer.output_tokens, answer.truncated) == (3, 5, 9, True)


def test_plan_is_not_truncated_when_max_tokens_allows_everything() -> None:
    answer = plan_answer(Controls(completion_tokens=5), prompt_chars=0, max_tokens=5, tool=None)
    assert (answer.text_tokens, answer.truncated) == (5, False)


def test_plan_for_a_tool_call_reports_the_completion_tokens_control() -> None:
    answer = plan_answer(Controls(completion_tokens=7), prompt_chars=0, max_tokens=1, tool=tool_call("f", None))
    assert (answer.text_tokens, answer.output_tokens, answer.truncated) == (0, 7, False)
