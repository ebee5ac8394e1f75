"""Gemini's and Bedrock Runtime's public shapes: bodies in, answers and streams out, usage and errors mapped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from botocore.eventstream import EventStream, EventStreamBuffer
from botocore.exceptions import EventStreamError
from botocore.model import ServiceModel
from botocore.parsers import EventStreamJSONParser
from botocore.session import get_session

from tollway.inference_router.domain.canonical import ChatResponse, ImagePart, TextPart, ToolCall, Usage
from tollway.inference_router.domain.deltas import Finish, MessageStart, TextDelta, ToolCallArguments, ToolCallStart
from tollway.inference_router.domain.errors import DomainError
from tollway.inference_router.domain.public_format import PublicFormat, endpoint_of

Json = msgspec.json.Decoder(dict[str, Any])
USAGE = Usage(prompt_tokens=20, completion_tokens=9, cache_read_tokens=5, cache_write_tokens=3, reasoning_tokens=4)


def forwarded(request: dict[str, Any], *, model: str = "m", stream: bool = False) -> bytes:
    return msgspec.json.encode({"model": model, "stream": stream, "request": request})


def test_a_gemini_conversation_with_function_calls_becomes_canonical_turns() -> None:
    body = {
        "system_instruction": {"parts": [{"text": "Be brief."}]},  # the REST docs' snake_case works too
        "contents": [
            {"role": "user", "parts": [{"text": "weather?"}, {"inlineData": {"mimeType": "image/png", "data": "AAA"}}]},
            {"role": "model", "parts": [{"functionCall": {"name": "w", "args": {"city": "Oslo"}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "w", "response": {"temp_c": 3}}}]},
        ],
        "tools": [
            {
                "functionDeclarations": [
                    {"name": "w", "parameters": {"type": "OBJECT", "properties": {"city_name": {"type": "STRING"}}}}
                ]
            }
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["w"]}},
        "generationConfig": {
            "maxOutputTokens": 50,
            "temperature": 1.5,
            "stopSequences": ["END"],
            "responseMimeType": "application/json",
        },
    }
    request = PublicFormat("gemini").decode(forwarded(body, model="gemini-flash", stream=True))

    assert (request.model, request.stream, request.max_tokens, request.temperature) == ("gemini-flash", True, 50, 1.5)
    assert [m.role for m in request.messages] == ["system", "user", "assistant", "tool"]
    assert request.messages[1].content == (TextPart("weather?"), ImagePart(url="data:image/png;base64,AAA"))
    (call,) = request.messages[2].tool_calls
    assert (call.id, call.name, call.arguments) == ("call_1_0", "w", '{"city":"Oslo"}')
    # An id-less response answers the earliest unanswered call of its function; arguments keep their own keys.
    assert (request.messages[3].tool_call_id, request.messages[3].content) == ("call_1_0", '{"temp_c":3}')
    assert request.tools[0].parameters == {"type": "object", "properties": {"city_name": {"type": "string"}}}
    assert request.tool_choice is not None
    assert (request.tool_choice.mode, request.tool_choice.name) == ("tool", "w")
    assert (request.stop, request.response_format) == (("END",), {"type": "json_object"})


@pytest.mark.parametrize(
    ("request_body", "status", "field"),
    [
        ({"contents": "hi"}, 400, "contents"),
        ({"contents": [], "tools": [{"googleSearch": {}}]}, 400, "tools[0]"),
        ({"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"candidateCount": 2}}, 422, "candidateCount"),
        ({"contents": [{"parts": [{"inlineData": {"mimeType": "audio/wav", "data": "A"}}]}]}, 422, "mimeType"),
        ({"contents": [{"parts": [{"text": "x"}]}], "cachedContent": "cachedContents/1"}, 422, "cachedContent"),
        ({"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"temperature": 3}}, 422, "temperature"),
    ],
)
def test_gemini_bodies_no_upstream_could_serve_are_refused(
    request_body: dict[str, Any], status: int, field: str
) -> None:
    with pytest.raises(DomainError) as raised:
        PublicFormat("gemini").decode(forwarded(request_body))
    assert raised.value.status == status
    assert field in raised.value.message


def test_a_gemini_answer_reports_gemini_usage() -> None:
    response = ChatResponse(
        id="x",
        model="up",
        content="hi",
        tool_calls=(ToolCall(id="c", name="w", arguments='{"a":1}'),),
        finish_reason="tool_calls",
        usage=USAGE,
    )
    body = Json.decode(PublicFormat("gemini").response(response, model="gemini-flash", created=0, request_id="req_1"))

    candidate = body["candidates"][0]
    assert candidate["content"]["parts"] == [
        {"text": "hi"},
        {"functionCall": {"id": "c", "name": "w", "args": {"a": 1}}},
    ]
    assert (candidate["finishReason"], body["modelVersion"], body["responseId"]) == ("STOP", "gemini-flash", "req_1")
    # Prompt includes cached content; candidates exclude thinking, reported apart.
    assert body["usageMetadata"] == {
        "promptTokenCount": 20,
        "candidatesTokenCount": 5,
        "totalTokenCount": 29,
        "cachedContentTokenCount": 5,
        "thoughtsTokenCount": 4,
    }


def test_a_gemini_stream_ends_with_the_finish_reason_usage_and_whole_function_calls() -> None:
    fmt = PublicFormat("gemini")
    request = fmt.decode(forwarded({"contents": [{"parts": [{"text": "x"}]}]}, stream=True))
    encoder = fmt.stream_encoder(request, request_id="r", model="m", created=0)
    deltas = [
        MessageStart(id="u", model="up"),
        TextDelta("a"),
        ToolCallStart(index=0, id="c", name="w"),
        ToolCallArguments(index=0, arguments='{"x"'),
        ToolCallArguments(index=0, arguments=":1}"),
        Finish(reason="length"),
    ]
    wire = b"".join(encoder.feed(delta) for delta in deltas) + encoder.close(USAGE)
    chunks = [Json.decode(event.removeprefix(b"data: ")) for event in wire.split(b"\r\n\r\n") if event]

    assert [c["candidates"][0].get("finishReason") for c in chunks] == [None, "MAX_TOKENS"]
    assert chunks[0]["candidates"][0]["content"]["parts"] == [{"text": "a"}]
    assert chunks[1]["candidates"][0]["content"]["parts"] == [
        {"functionCall": {"id": "c", "name": "w", "args": {"x": 1}}}
    ]
    assert chunks[1]["usageMetadata"]["totalTokenCount"] == 29
    assert Json.decode(encoder.error(503, "gone").removeprefix(b"data: "))["error"] == {
        "code": 503,
        "message": "gone",
        "status": "UNAVAILABLE",
    }


def test_a_converse_body_with_tools_and_cache_points_becomes_canonical_turns() -> None:
    body = {
        "system": [{"text": "Be brief."}, {"cachePoint": {"type": "default"}}],
        "messages": [
            {
                "role": "user",
                "content": [{"text": "weather?"}, {"image": {"format": "png", "source": {"bytes": "AAA"}}}],
            },
            {
                "role": "assistant",
                "content": [
                    {"text": "checking"},
                    {"toolUse": {"toolUseId": "t1", "name": "w", "input": {"city": "Oslo"}}},
                ],
            },
            {
                "role": "user",
                "content": [{"toolResult": {"toolUseId": "t1", "content": [{"json": {"c": 3}}], "status": "error"}}],
            },
        ],
        "inferenceConfig": {"maxTokens": 40, "temperature": 0.3, "stopSequences": ["END"]},
        "toolConfig": {
            "tools": [
                {"toolSpec": {"name": "w", "inputSchema": {"json": {"type": "object"}}}},
                {"cachePoint": {"type": "default"}},
            ],
            "toolChoice": {"any": {}},
        },
        "additionalModelRequestFields": {"top_k": 7},
    }
    request = PublicFormat("bedrock").decode(forwarded(body, model="claude", stream=True))

    assert (request.model, request.stream, request.max_tokens, request.top_k) == ("claude", True, 40, 7)
    assert [m.role for m in request.messages] == ["system", "user", "assistant", "tool"]
    assert request.messages[1].content == (TextPart("weather?"), ImagePart(url="data:image/png;base64,AAA"))
    assert request.messages[2].content == "checking"
    assert request.messages[2].tool_calls == (ToolCall(id="t1", name="w", arguments='{"city":"Oslo"}'),)
    assert (request.messages[3].tool_call_id, request.messages[3].content, request.messages[3].is_error) == (
        "t1",
        '{"c":3}',
        True,
    )
    assert [t.name for t in request.tools] == ["w"]
    assert request.tool_choice is not None
    assert request.tool_choice.mode == "required"


@pytest.mark.parametrize(
    ("request_body", "status", "field"),
    [
        ({"messages": [{"role": "user", "content": [{"document": {"name": "d"}}]}]}, 422, "document"),
        ({"messages": [{"role": "user", "content": [{"text": "x"}]}], "guardrailConfig": {}}, 422, "guardrailConfig"),
        (
            {"messages": [{"role": "user", "content": [{"text": "x"}]}], "inferenceConfig": {"temperature": 1.5}},
            422,
            "temperature",
        ),
        ({"messages": [{"role": "system", "content": []}]}, 400, "role"),
        ({"messages": []}, 422, "messages"),
    ],
)
def test_converse_bodies_no_upstream_could_serve_are_refused(
    request_body: dict[str, Any], status: int, field: str
) -> None:
    with pytest.raises(DomainError) as raised:
        PublicFormat("bedrock").decode(forwarded(request_body))
    assert raised.value.status == status
    assert field in raised.value.message


def test_a_converse_answer_reports_bedrock_usage_with_caches_beside_the_input() -> None:
    response = ChatResponse(id="x", model="up", content="hi", stop_sequence="END", usage=USAGE)
    body = Json.decode(PublicFormat("bedrock").response(response, model="m", created=0))

    assert body["output"]["message"] == {"role": "assistant", "content": [{"text": "hi"}]}
    assert body["stopReason"] == "stop_sequence"
    assert body["usage"] == {
        "inputTokens": 12,
        "outputTokens": 9,
        "totalTokens": 29,
        "cacheReadInputTokens": 5,
        "cacheWriteInputTokens": 3,
    }


def _converse_stream_events(body: bytes) -> Iterator[dict[str, Any]]:
    """What botocore's own parser makes of the bytes (the shape is the service model's)."""
    model = ServiceModel(get_session().get_service_data("bedrock-runtime"))
    output = model.operation_model("ConverseStream").output_shape
    assert output is not None

    class Raw:
        def stream(self) -> Iterator[bytes]:
            yield from (body[i : i + 5] for i in range(0, len(body), 5))  # frames split anywhere

        def close(self) -> None:
            pass

    return iter(EventStream(Raw(), output.members["stream"], EventStreamJSONParser(), "ConverseStream"))  # type: ignore[attr-defined]


def test_a_converse_stream_is_parsed_by_botocore_into_blocks() -> None:
    fmt = PublicFormat("bedrock")
    request = fmt.decode(forwarded({"messages": [{"role": "user", "content": [{"text": "x"}]}]}, stream=True))
    encoder = fmt.stream_encoder(request, request_id="r", model="m", created=0)
    deltas = [
        MessageStart(id="u", model="up"),
        TextDelta("a"),
        TextDelta("b"),
        ToolCallStart(index=0, id="call.1", name="w"),
        ToolCallArguments(index=0, arguments='{"x"'),
        ToolCallArguments(index=0, arguments=":1}"),
        Finish(reason="tool_calls"),
    ]
    events = list(_converse_stream_events(b"".join(encoder.feed(d) for d in deltas) + encoder.close(USAGE)))

    assert [next(iter(e)) for e in events] == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert events[4]["contentBlockStart"] == {
        "contentBlockIndex": 1,
        "start": {"toolUse": {"toolUseId": "call_1", "name": "w"}},
    }
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"
    assert events[-1]["metadata"]["usage"]["inputTokens"] == 12
    assert fmt.stream_content_type == "application/vnd.amazon.eventstream"


def test_a_failed_converse_stream_raises_botocores_event_stream_error() -> None:
    encoder = PublicFormat("bedrock").stream_encoder(
        PublicFormat("bedrock").decode(forwarded({"messages": [{"role": "user", "content": [{"text": "x"}]}]})),
        request_id="r",
        model="m",
        created=0,
    )
    with pytest.raises(EventStreamError) as raised:
        list(_converse_stream_events(encoder.feed(TextDelta("a")) + encoder.error(429, "slow down")))
    assert raised.value.response["Error"]["Code"] == "throttlingException"


def test_each_native_api_answers_errors_in_its_own_shape() -> None:
    gemini, bedrock = PublicFormat("gemini"), PublicFormat("bedrock")

    assert Json.decode(gemini.error(402, "no credit")) == {
        "error": {"code": 402, "message": "no credit", "status": "FAILED_PRECONDITION"}
    }
    assert gemini.error_headers(402) == ()
    assert Json.decode(bedrock.error(429, "slow")) == {"message": "slow"}
    assert [bedrock.error_headers(s) for s in (401, 402, 404, 429, 503)] == [
        (("x-amzn-errortype", name),)
        for name in (
            "UnrecognizedClientException",
            "ServiceQuotaExceededException",
            "ResourceNotFoundException",
            "ThrottlingException",
            "ServiceUnavailableException",
        )
    ]
    assert (endpoint_of("gemini"), endpoint_of("bedrock")) == ("gemini", "bedrock")


def test_the_raw_frames_carry_crcs_botocore_checks() -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(
        PublicFormat("bedrock")
        .stream_encoder(
            PublicFormat("bedrock").decode(forwarded({"messages": [{"role": "user", "content": [{"text": "x"}]}]})),
            request_id="r",
            model="m",
            created=0,
        )
        .close(Usage())
    )
    assert [m.headers[":event-type"] for m in buffer] == ["messageStart", "messageStop", "metadata"]
