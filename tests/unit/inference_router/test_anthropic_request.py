"""Anthropic request bodies → canonical, canonical → Anthropic bodies, validation, and the round-trip property."""

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tollway.inference_router.domain.anthropic_body import anthropic_tool_id, encode_anthropic_request
from tollway.inference_router.domain.anthropic_request import decode_anthropic_request
from tollway.inference_router.domain.anthropic_wire import (
    AnthropicChoice,
    Base64Source,
    ImageBlock,
    MessageIn,
    MessagesIn,
    MetadataIn,
    TextBlock,
    ToolChoiceIn,
    ToolDefinition,
    ToolResultBlock,
    ToolUseBlock,
    UrlSource,
)
from tollway.inference_router.domain.canonical import (
    ChatRequest,
    ImagePart,
    Message,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
)
from tollway.inference_router.domain.errors import InvalidRequestError, UnprocessableRequestError
from tollway.inference_router.domain.openai_request import decode_openai_request

PNG = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}


def body(**fields: Any) -> bytes:
    base = {"model": "claude-3-5-haiku", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
    return msgspec.json.encode({**base, **fields})


def test_full_request_decodes_to_canonical() -> None:
    request = decode_anthropic_request(
        body(
            system=[{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what are these?"},
                        {"type": "image", "source": PNG},
                        {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}},
                    ],
                },
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                        {"type": "text", "text": "Let me look."},
                        {"type": "tool_use", "id": "toolu_1", "name": "look", "input": {"q": "x", "n": 2}},
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a cat"},
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_2",
                            "is_error": True,
                            "content": [{"type": "text", "text": "failed"}],
                        },
                        {"type": "text", "text": "and?"},
                    ],
                },
            ],
            tools=[{"name": "look", "description": "looks", "input_schema": {"type": "object"}}],
            tool_choice={"type": "any", "disable_parallel_tool_use": True},
            stop_sequences=["END"],
            stream=True,
            temperature=0.3,
            top_k=5,
            metadata={"user_id": "u-1"},
        )
    )
    assert request == ChatRequest(
        model="claude-3-5-haiku",
        messages=(
            Message(role="system", content=(TextPart("be brief"),)),
            Message(
                role="user",
                content=(
                    TextPart("what are these?"),
                    ImagePart(url="data:image/png;base64,iVBORw0KGgo="),
                    ImagePart(url="https://x.test/a.jpg"),
                ),
            ),
            Message(
                role="assistant",
                content=(TextPart("Let me look."),),
                tool_calls=(ToolCall(id="toolu_1", name="look", arguments='{"q":"x","n":2}'),),
            ),
            Message(role="tool", content="a cat", tool_call_id="toolu_1"),
            Message(role="tool", content=(TextPart("failed"),), tool_call_id="toolu_2", is_error=True),
            Message(role="user", content=(TextPart("and?"),)),
        ),
        tools=(Tool(name="look", description="looks", parameters={"type": "object"}),),
        tool_choice=ToolChoice(mode="required"),
        parallel_tool_calls=False,
        max_tokens=100,
        temperature=0.3,
        top_k=5,
        stop=("END",),
        stream=True,
        user="u-1",
    )


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, ToolChoice(mode="auto")),
        ({"type": "any"}, ToolChoice(mode="required")),
        ({"type": "none"}, ToolChoice(mode="none")),
        ({"type": "tool", "name": "f"}, ToolChoice(mode="tool", name="f")),
    ],
)
def test_tool_choice_forms(choice: dict[str, str], expected: ToolChoice) -> None:
    tools = [{"name": "f", "input_schema": {"type": "object"}}]
    assert decode_anthropic_request(body(tools=tools, tool_choice=choice)).tool_choice == expected


def test_plain_string_system_and_content() -> None:
    request = decode_anthropic_request(body(system="sys"))
    assert request.messages == (Message(role="system", content="sys"), Message(role="user", content="hi"))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (msgspec.json.encode({"model": "m", "messages": []}), "max_tokens: required field is missing"),
        (body(system=5), "system: Expected `str | array | null`, got `int`"),
        (body(messages=[{"role": "system", "content": "x"}]), "messages[0].role: Invalid enum value 'system'"),
        (
            body(messages=[{"role": "user", "content": [{"type": "document", "source": {}}]}]),
            "messages[0].content[0].type: Invalid value 'document'",
        ),
    ],
)
def test_malformed_bodies_are_400(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        decode_anthropic_request(raw)
    assert (caught.value.status, caught.value.message) == (400, message)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_tokens": 0}, "max_tokens: must be at least 1, got 0"),
        ({"temperature": 1.5}, "temperature: must be between 0 and 1, got 1.5"),
        ({"top_k": 0}, "top_k: must be at least 1, got 0"),
        ({"tool_choice": {"type": "tool"}}, "tool_choice.name: is required when tool_choice.type is 'tool'"),
        (
            {"messages": [{"role": "user", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]}]},
            "messages[0].content[0]: a tool_use block is not allowed in a user turn",
        ),
        (
            {"messages": [{"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "t"}]}]},
            "messages[0].content[0]: a tool_result block is not allowed in a assistant turn",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "url", "url": "x"}}]}]},
            "messages[0].content[0].source.url: must be an http(s) URL or a data URL of the form "
            "data:<media type>;base64,<data>",
        ),
    ],
)
def test_semantic_errors_are_422(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(UnprocessableRequestError) as caught:
        decode_anthropic_request(body(**fields))
    assert (caught.value.status, caught.value.message) == (422, message)


def test_openai_request_becomes_an_anthropic_body() -> None:
    """Cross-format: system/developer hoisted, tool results merged with the next user turn, ids made safe."""
    request = decode_openai_request(
        msgspec.json.encode(
            {
                "model": "gpt-4o-mini",
                "messages": [
                    {"role": "system", "content": "sys"},
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": PNG_URL}}]},
                    {"role": "developer", "content": "dev"},
                    {
                        "role": "assistant",
                        "content": "checking",
                        "tool_calls": [
                            {"id": "call:1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}},
                            {"id": "call.2", "type": "function", "function": {"name": "f", "arguments": ""}},
                        ],
                    },
                    {"role": "tool", "tool_call_id": "call:1", "content": "one"},
                    {"role": "tool", "tool_call_id": "call.2", "content": "two"},
                    {"role": "user", "content": "thanks"},
                ],
                "tools": [{"type": "function", "function": {"name": "f"}}],
                "parallel_tool_calls": False,
                "temperature": 1.7,
                "stop": ["X"],
                "user": "u",
            }
        )
    )
    sent = msgspec.json.decode(encode_anthropic_request(request, model="claude-up", default_max_tokens=4096))
    assert sent == {
        "model": "claude-up",
        "messages": [
            {"role": "user", "content": [{"type": "image", "source": PNG}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "checking"},
                    {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}},
                    {"type": "tool_use", "id": "call_2", "name": "f", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "one"},
                    {"type": "tool_result", "tool_use_id": "call_2", "content": "two"},
                    {"type": "text", "text": "thanks"},
                ],
            },
        ],
        "max_tokens": 4096,
        "system": [{"type": "text", "text": "sys"}, {"type": "text", "text": "dev"}],
        "metadata": {"user_id": "u"},
        "stop_sequences": ["X"],
        "temperature": 1.0,
        "tools": [{"name": "f", "input_schema": {"type": "object", "properties": {}}}],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
    }


PNG_URL = "data:image/png;base64,iVBORw0KGgo="


def test_tool_ids_keep_safe_characters() -> None:
    assert anthropic_tool_id("toolu_01A-b") == "toolu_01A-b"
    assert anthropic_tool_id("call:9/x y") == "call_9_x_y"


def test_tool_result_error_flag_and_missing_content() -> None:
    request = ChatRequest(
        model="m",
        messages=(Message(role="tool", tool_call_id="t", is_error=True), Message(role="user", content="next")),
    )
    sent = msgspec.json.decode(encode_anthropic_request(request, default_max_tokens=10))
    assert sent["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t", "is_error": True},
                {"type": "text", "text": "next"},
            ],
        }
    ]


# ---- property: Anthropic body → canonical → Anthropic body is the identity ----

texts = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=10)
words = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=10)
ids = st.text(alphabet="abcXYZ019_-", min_size=1, max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=5,
)
objects = st.dictionaries(texts, json_values, max_size=3)
images = st.builds(
    ImageBlock,
    source=st.builds(Base64Source, media_type=st.sampled_from(["image/png", "image/jpeg"]), data=ids)
    | st.builds(UrlSource, url=st.just("https://x.test/i.png")),
)
text_blocks = st.builds(TextBlock, text=words)
parts = st.lists(text_blocks | images, min_size=1, max_size=3)
tool_results = st.builds(
    ToolResultBlock,
    tool_use_id=ids,
    content=st.none() | texts | st.lists(text_blocks | images, max_size=2),
    is_error=st.none() | st.just(True),
)
user_turns = st.builds(MessageIn, role=st.just("user"), content=words | parts) | st.builds(
    lambda results, rest: MessageIn(role="user", content=[*results, *rest]),
    st.lists(tool_results, min_size=1, max_size=2),
    st.lists(text_blocks | images, max_size=2),
)
tool_uses = st.builds(ToolUseBlock, id=ids, name=ids, input=objects)
assistant_turns = st.builds(MessageIn, role=st.just("assistant"), content=texts) | st.builds(
    lambda said, uses: MessageIn(role="assistant", content=[*said, *uses]),
    st.lists(text_blocks, max_size=2),
    st.lists(tool_uses, max_size=2),
)


@st.composite
def anthropic_bodies(draw: st.DrawFn) -> MessagesIn:
    turns = [draw(user_turns if i % 2 == 0 else assistant_turns) for i in range(draw(st.integers(1, 5)))]
    tools = draw(
        st.lists(
            st.builds(ToolDefinition, name=ids, input_schema=objects.filter(bool), description=st.none() | texts),
            max_size=2,
            unique_by=lambda tool: tool.name,
        )
    )
    kinds: list[AnthropicChoice] = ["auto", "none", "any", "tool"] if tools else ["auto", "none"]
    kind = draw(st.none() | st.sampled_from(kinds))
    choice = None
    if kind is not None:
        name = tools[0].name if kind == "tool" else None
        choice = ToolChoiceIn(type=kind, name=name, disable_parallel_tool_use=draw(st.none() | st.booleans()))
    user = draw(st.none() | words)
    return MessagesIn(
        model=draw(ids),
        messages=turns,
        max_tokens=draw(st.integers(1, 10_000)),
        system=draw(st.none() | words | st.lists(text_blocks, min_size=1, max_size=2)),
        metadata=MetadataIn(user_id=user) if user else None,
        stop_sequences=draw(st.none() | st.lists(words, min_size=1, max_size=2)),
        stream=draw(st.none() | st.just(True)),
        temperature=draw(st.none() | st.floats(0, 1, allow_nan=False)),
        top_p=draw(st.none() | st.floats(0, 1, allow_nan=False)),
        top_k=draw(st.none() | st.integers(1, 500)),
        tools=tools or None,
        tool_choice=choice,
    )


@settings(max_examples=200, deadline=None)
@given(anthropic_bodies())
def test_anthropic_to_canonical_to_anthropic_is_identity(wire: MessagesIn) -> None:
    original = msgspec.json.encode(wire)
    again = encode_anthropic_request(decode_anthropic_request(original), default_max_tokens=1)
    assert msgspec.json.decode(again) == msgspec.json.decode(original)
