"""The public formats beside chat: Responses API, legacy completions, AI SDK data stream and embeddings bodies."""

import msgspec
import pytest

from tollway.inference_router.domain.ai_sdk import AiSdkStreamEncoder, decode_ai_sdk_request
from tollway.inference_router.domain.canonical import ChatResponse, TextPart, ToolCall, Usage
from tollway.inference_router.domain.deltas import Finish, TextDelta, ToolCallArguments, ToolCallStart
from tollway.inference_router.domain.embeddings import decode_embeddings_request, embeddings_usage, readdressed
from tollway.inference_router.domain.errors import DomainError
from tollway.inference_router.domain.legacy_completions import CompletionsChunkEncoder, decode_completions_request
from tollway.inference_router.domain.public_format import PublicFormat, api_family, endpoint_of
from tollway.inference_router.domain.responses_api import ResponsesStreamEncoder, decode_responses_request
from tollway.inference_router.domain.sse import SseParser

Json = msgspec.json.Decoder(dict[str, object])


def test_responses_input_items_become_canonical_turns() -> None:
    body = {
        "model": "m",
        "instructions": "Be brief.",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
            {"type": "function_call", "call_id": "c1", "name": "w", "arguments": '{"city":"Oslo"}'},
            {"type": "function_call", "call_id": "c2", "name": "w", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "3C"},
        ],
        "tools": [{"type": "function", "name": "w", "parameters": {"type": "object"}}],
        "tool_choice": {"type": "function", "name": "w"},
        "max_output_tokens": 50,
        "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}}},
    }
    request = decode_responses_request(msgspec.json.encode(body))

    roles = [m.role for m in request.messages]
    assert roles == ["developer", "user", "assistant", "tool"]
    assert [c.id for c in request.messages[2].tool_calls] == ["c1", "c2"]  # consecutive calls are one turn
    assert request.messages[1].content == (TextPart("weather?"),)
    assert (request.max_tokens, request.tool_choice and request.tool_choice.name) == (50, "w")
    assert request.response_format == {
        "type": "json_schema",
        "json_schema": {"name": "out", "schema": {"type": "object"}},
    }


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m", "input": "x", "previous_response_id": "resp_1"}, "previous_response_id"),
        ({"model": "m", "input": [{"type": "reasoning"}]}, "input[0].type"),
        ({"model": "m", "input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        ({"model": "m", "input": "x", "tools": [{"type": "web_search"}]}, "tools[0]"),
        ({"model": "m", "input": 3}, "input"),
    ],
)
def test_responses_refusals_name_the_field(body: dict[str, object], param: str) -> None:
    with pytest.raises(DomainError) as raised:
        decode_responses_request(msgspec.json.encode(body))
    assert raised.value.status in (400, 422)
    assert raised.value.param == param


def _events(frames: bytes) -> list[dict[str, object]]:
    return [Json.decode(event.data) for event in SseParser().feed(frames)]


def test_responses_stream_events_and_final_response() -> None:
    encoder = ResponsesStreamEncoder(response_id="resp_1", model="m", created=7)
    frames = b"".join(
        encoder.feed(d)
        for d in (
            TextDelta("Hi"),
            TextDelta(" there"),
            ToolCallStart(index=0, id="c1", name="w"),
            ToolCallArguments(index=0, arguments='{"a":'),
            ToolCallArguments(index=0, arguments="1}"),
            Finish(reason="tool_calls"),
        )
    )
    frames += encoder.close(Usage(prompt_tokens=5, completion_tokens=3))
    events = _events(frames)
    kinds = [e["type"] for e in events]

    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert "response.output_text.done" in kinds
    assert kinds.index("response.output_text.done") < kinds.index("response.function_call_arguments.delta")
    assert kinds[-1] == "response.completed"
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    final = events[-1]["response"]
    assert isinstance(final, dict)
    assert [item["type"] for item in final["output"]] == ["message", "function_call"]
    assert final["output"][1]["arguments"] == '{"a":1}'
    assert final["usage"]["total_tokens"] == 8


def test_a_cut_response_is_incomplete() -> None:
    encoder = ResponsesStreamEncoder(response_id="r", model="m", created=0)
    frames = encoder.feed(TextDelta("a")) + encoder.feed(Finish(reason="length")) + encoder.close(Usage())
    final = _events(frames)[-1]
    assert final["type"] == "response.incomplete"
    assert final["response"]["incomplete_details"] == {"reason": "max_output_tokens"}  # type: ignore[index]


def test_legacy_completions_prompt_and_refusals() -> None:
    request = decode_completions_request(b'{"model": "m", "prompt": ["Once upon"], "stop": "\\n"}')
    assert (request.messages[0].content, request.max_tokens, request.stop) == ("Once upon", 16, ("\n",))
    for field, value in (("echo", True), ("n", 2), ("suffix", "x"), ("logprobs", 2), ("prompt", ["a", "b"])):
        with pytest.raises(DomainError) as raised:
            decode_completions_request(msgspec.json.encode({"model": "m", "prompt": "p", field: value}))
        assert raised.value.param == field


def test_legacy_completion_chunks() -> None:
    encoder = CompletionsChunkEncoder(response_id="cmpl-1", model="m", created=1, include_usage=True)
    frames = (
        encoder.feed(TextDelta("tok0")) + encoder.feed(Finish(reason="stop")) + encoder.close(Usage(prompt_tokens=2))
    )
    chunks = [e.data for e in SseParser().feed(frames)]
    assert chunks[-1] == "[DONE]"
    first = Json.decode(chunks[0])
    assert (first["object"], first["choices"][0]["text"]) == ("text_completion", "tok0")  # type: ignore[index]
    assert Json.decode(chunks[-2])["usage"]["prompt_tokens"] == 2  # type: ignore[index]


def test_ai_sdk_messages_and_data_stream() -> None:
    body = {
        "model": "m",
        "system": "sys",
        "messages": [
            {"role": "user", "content": "ignored", "parts": [{"type": "text", "text": "hi"}]},
            {"role": "assistant", "content": "hello"},
            {"role": "data", "content": "skipped"},
        ],
    }
    request = decode_ai_sdk_request(msgspec.json.encode(body))
    assert [m.role for m in request.messages] == ["system", "user", "assistant"]
    assert request.messages[1].content == (TextPart("hi"),)
    assert request.stream  # the AI SDK streams unless told otherwise

    encoder = AiSdkStreamEncoder(message_id="msg-1")
    out = encoder.feed(TextDelta("a")) + encoder.feed(ToolCallStart(index=0, id="c", name="w"))
    out += encoder.feed(ToolCallArguments(index=0, arguments='{"x":1}')) + encoder.feed(Finish(reason="tool_calls"))
    out += encoder.close(Usage(prompt_tokens=3, completion_tokens=4))
    lines = out.decode().splitlines()
    assert [line[:2] for line in lines] == ["f:", "0:", "b:", "c:", "9:", "e:", "d:"]
    assert Json.decode(lines[4][2:])["args"] == {"x": 1}
    assert Json.decode(lines[-1][2:]) == {
        "finishReason": "tool-calls",
        "usage": {"promptTokens": 3, "completionTokens": 4},
    }


def test_embeddings_bodies() -> None:
    call = decode_embeddings_request(b'{"model": "e", "input": ["ab", [1, 2]], "dimensions": 4}')
    assert Json.decode(call.upstream_body("up-e")) == {"model": "up-e", "input": ["ab", [1, 2]], "dimensions": 4}
    assert call.stand_in.messages[0].content == "ab\n1 2"
    for body in (b'{"model": "e", "input": []}', b'{"model": "e", "input": "x", "dimensions": 0}'):
        with pytest.raises(DomainError):
            decode_embeddings_request(body)
    answer = b'{"object": "list", "data": [], "model": "up-e", "usage": {"prompt_tokens": 3, "total_tokens": 3}}'
    assert embeddings_usage(answer) == Usage(prompt_tokens=3)
    assert Json.decode(readdressed(answer, model="e"))["model"] == "e"


def test_formats_map_to_event_families_and_errors() -> None:
    assert [api_family(a) for a in ("anthropic", "openai_responses", "ai_sdk")] == ["anthropic", "openai", "openai"]
    assert endpoint_of("openai_embeddings") == "embeddings"
    assert "error" in Json.decode(PublicFormat("openai_responses").error(429, "slow down"))
    response = ChatResponse(id="x", model="u", content=None, tool_calls=(ToolCall(id="c", name="w", arguments="{}"),))
    body = Json.decode(PublicFormat("openai_responses").response(response, model="m", created=1, request_id="r"))
    assert (body["id"], body["output"][0]["type"]) == ("resp_r", "function_call")  # type: ignore[index]
