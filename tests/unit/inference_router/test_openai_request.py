"""OpenAI request bodies ⇄ canonical requests: decoding, validation errors, encoding, and the round-trip property."""

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tollway.inference_router.domain.canonical import (
    ChatRequest,
    ImagePart,
    Message,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
    ToolChoiceMode,
)
from tollway.inference_router.domain.errors import InvalidRequestError, UnprocessableRequestError
from tollway.inference_router.domain.openai_request import decode_openai_request, encode_openai_request

IMAGE = "data:image/png;base64,iVBORw0KGgo="


def body(**fields: Any) -> bytes:
    return msgspec.json.encode({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], **fields})


def test_full_request_decodes_to_canonical() -> None:
    request = decode_openai_request(
        body(
            messages=[
                {"role": "system", "content": "be brief"},
                {"role": "developer", "content": [{"type": "text", "text": "dev"}]},
                {
                    "role": "user",
                    "name": "ann",
                    "content": [
                        {"type": "text", "text": "what is this?"},
                        {"type": "image_url", "image_url": {"url": IMAGE, "detail": "low"}},
                    ],
                },
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "look", "arguments": '{"q":"x"}'}}
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
            ],
            tools=[{"type": "function", "function": {"name": "look", "parameters": {"type": "object"}}}],
            tool_choice={"type": "function", "function": {"name": "look"}},
            parallel_tool_calls=False,
            max_completion_tokens=50,
            max_tokens=10,
            temperature=0.5,
            top_p=0.9,
            stop="END",
            stream=True,
            stream_options={"include_usage": True},
            user="u-1",
            metadata={"k": "v"},
            seed=7,
            unknown_field="ignored",
        )
    )
    assert request == ChatRequest(
        model="gpt-4o-mini",
        messages=(
            Message(role="system", content="be brief"),
            Message(role="developer", content=(TextPart("dev"),)),
            Message(role="user", name="ann", content=(TextPart("what is this?"), ImagePart(url=IMAGE, detail="low"))),
            Message(role="assistant", tool_calls=(ToolCall(id="call_1", name="look", arguments='{"q":"x"}'),)),
            Message(role="tool", content="a cat", tool_call_id="call_1"),
        ),
        tools=(Tool(name="look", parameters={"type": "object"}),),
        tool_choice=ToolChoice(mode="tool", name="look"),
        parallel_tool_calls=False,
        max_tokens=50,  # max_completion_tokens wins over the legacy max_tokens
        temperature=0.5,
        top_p=0.9,
        stop=("END",),
        stream=True,
        include_usage=True,
        user="u-1",
        metadata={"k": "v"},
        seed=7,
    )


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", ToolChoice(mode="auto")),
        ("none", ToolChoice(mode="none")),
        ("required", ToolChoice(mode="required")),
        ({"type": "function", "function": {"name": "f"}}, ToolChoice(mode="tool", name="f")),
    ],
)
def test_tool_choice_forms(choice: object, expected: ToolChoice) -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    assert decode_openai_request(body(tools=tools, tool_choice=choice)).tool_choice == expected


def test_encoded_body_is_exact() -> None:
    request = ChatRequest(
        model="m",
        messages=(
            Message(role="user", content="hi"),
            Message(role="assistant", tool_calls=(ToolCall(id="c", name="f", arguments="{}"),)),
            Message(role="tool", content="ok", tool_call_id="c"),
        ),
        tool_choice=ToolChoice(mode="required"),
        tools=(Tool(name="f"),),
        stream=True,
        include_usage=True,
        max_tokens=5,
    )
    assert encode_openai_request(request, model="upstream-id") == (
        b'{"model":"upstream-id","messages":[{"role":"user","content":"hi"},'
        b'{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},'
        b'{"role":"tool","content":"ok","tool_call_id":"c"}],'
        b'"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required","max_tokens":5,'
        b'"stream":true,"stream_options":{"include_usage":true}}'
    )


def test_tool_result_images_follow_in_a_user_message() -> None:
    request = ChatRequest(
        model="m",
        messages=(Message(role="tool", tool_call_id="c", content=(TextPart("see"), ImagePart(url=IMAGE))),),
    )
    sent = msgspec.json.decode(encode_openai_request(request))
    assert sent["messages"] == [
        {"role": "tool", "content": [{"type": "text", "text": "see"}], "tool_call_id": "c"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": IMAGE}}]},
    ]


@pytest.mark.parametrize(
    ("raw", "message", "param"),
    [
        (b'{"model":"m"', "request body is not valid JSON: Input data was truncated", None),
        (b"{}", "model: required field is missing", "model"),
        (body(model=3), "model: Expected `str`, got `int`", "model"),
        (body(messages=[{"role": "function", "content": "x"}]), "messages[0].role: Invalid value 'function'", None),
        (body(messages=[{"role": "user"}]), "messages[0].content: required field is missing", None),
        (
            body(messages=[{"role": "user", "content": [{"type": "input_audio"}]}]),
            "messages[0].content[0].type: Invalid value 'input_audio'",
            None,
        ),
        (body(temperature="hot"), "temperature: Expected `float | null`, got `str`", "temperature"),
    ],
)
def test_malformed_bodies_are_400_naming_the_field(raw: bytes, message: str, param: str | None) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        decode_openai_request(raw)
    assert caught.value.status == 400
    assert caught.value.message == message
    if param is not None:
        assert caught.value.param == param


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_tokens": 0}, "max_tokens: must be at least 1, got 0"),
        ({"max_completion_tokens": -3}, "max_tokens: must be at least 1, got -3"),
        ({"temperature": 2.5}, "temperature: must be between 0 and 2, got 2.5"),
        ({"top_p": 1.5}, "top_p: must be between 0 and 1, got 1.5"),
        ({"n": 2}, "n: only n=1 is supported, got 2"),
        ({"messages": []}, "messages: must contain at least one message"),
        ({"tool_choice": "required"}, "tool_choice: 'required' needs at least one tool in 'tools'"),
        (
            {"tools": [{"type": "function", "function": {"name": "a"}}], "tool_choice": {"function": {"name": "b"}}},
            "tool_choice: names tool 'b', which is not in 'tools'",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x"}}]}]},
            "messages[0].content[0].image_url.url: must be an http(s) URL or a data URL of the form "
            "data:<media type>;base64,<data>",
        ),
        (
            {
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "[1]"}}],
                    }
                ]
            },
            "messages[0].tool_calls[0].function.arguments: must be a JSON object encoded as a string",
        ),
    ],
)
def test_semantic_errors_are_422(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(UnprocessableRequestError) as caught:
        decode_openai_request(body(**fields))
    assert caught.value.status == 422
    assert caught.value.message == message
    assert caught.value.param == message.split(":", 1)[0]


# ---- property: canonical → OpenAI body → canonical is the identity (for what OpenAI can express) ----

texts = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)
names = st.text(alphabet="abcdefghij_", min_size=1, max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
arguments = st.one_of(
    st.just(""), st.dictionaries(texts, json_values, max_size=3).map(lambda d: msgspec.json.encode(d).decode())
)
images = st.builds(
    ImagePart,
    url=st.sampled_from([IMAGE, "https://example.com/cat.png"]),
    detail=st.none() | st.sampled_from(["low", "high", "auto"]),
)
text_parts = st.builds(TextPart, texts)
text_content = texts | st.lists(text_parts, max_size=3).map(tuple)
user_content = texts | st.lists(text_parts | images, max_size=3).map(tuple)
tool_calls = st.lists(st.builds(ToolCall, id=names, name=names, arguments=arguments), max_size=2).map(tuple)
optional_names = st.none() | names
messages = st.one_of(
    st.builds(Message, role=st.sampled_from(["system", "developer"]), content=text_content, name=optional_names),
    st.builds(Message, role=st.just("user"), content=user_content, name=optional_names),
    st.builds(
        Message, role=st.just("assistant"), content=st.none() | text_content, name=optional_names, tool_calls=tool_calls
    ),
    st.builds(Message, role=st.just("tool"), content=text_content, tool_call_id=names),
)
tools = st.lists(
    st.builds(
        Tool,
        name=names,
        description=st.none() | texts,
        parameters=st.none() | st.dictionaries(texts, json_values, max_size=2),
    ),
    max_size=3,
    unique_by=lambda tool: tool.name,
).map(tuple)


@st.composite
def openai_requests(draw: st.DrawFn) -> ChatRequest:
    offered = draw(tools)
    modes: list[ToolChoiceMode] = ["auto", "none", "required", "tool"] if offered else ["auto", "none"]
    mode = draw(st.none() | st.sampled_from(modes))
    choice = None if mode is None else ToolChoice(mode=mode, name=offered[0].name if mode == "tool" else None)
    optional_floats = st.none() | st.floats(0, 1, allow_nan=False)
    return ChatRequest(
        model=draw(names),
        messages=tuple(draw(st.lists(messages, min_size=1, max_size=5))),
        tools=offered,
        tool_choice=choice,
        parallel_tool_calls=draw(st.none() | st.booleans()),
        max_tokens=draw(st.none() | st.integers(1, 100_000)),
        temperature=draw(st.none() | st.floats(0, 2, allow_nan=False)),
        top_p=draw(optional_floats),
        stop=tuple(draw(st.lists(texts, max_size=3))),
        stream=draw(st.booleans()),
        include_usage=draw(st.booleans()),
        user=draw(st.none() | texts),
        metadata=draw(st.none() | st.dictionaries(names, texts, max_size=2)),
        response_format=draw(st.none() | st.just({"type": "json_object"})),
        seed=draw(st.none() | st.integers(-(2**53), 2**53)),
        frequency_penalty=draw(st.none() | st.floats(-2, 2, allow_nan=False)),
        presence_penalty=draw(optional_floats),
    )


@settings(max_examples=200, deadline=None)
@given(openai_requests())
def test_canonical_to_openai_to_canonical_is_identity(request: ChatRequest) -> None:
    assert decode_openai_request(encode_openai_request(request)) == request
