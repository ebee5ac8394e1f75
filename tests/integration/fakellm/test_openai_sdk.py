"""The official OpenAI SDK against a real fakellm server."""

import json
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionMessageParam

USER: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "What is the weather like?"}
]  # 25 characters -> 7 prompt tokens
WEATHER_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city", "unit"],
        },
    },
}


@pytest.fixture
def client(fakellm_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{fakellm_url}/v1", api_key="test", max_retries=0) as sdk:
        yield sdk


def test_non_stream_completion(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="fake-gpt", messages=USER)
    choice = completion.choices[0]
    assert choice.message.content == " ".join(f"tok{i}" for i in range(20))
    assert (choice.finish_reason, completion.model, completion.object) == ("stop", "fake-gpt", "chat.completion")
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == (
        7,
        20,
        27,
    )


def test_max_completion_tokens_truncates(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="fake-gpt", messages=USER, max_completion_tokens=5)
    assert (completion.choices[0].finish_reason, completion.choices[0].message.content) == (
        "length",
        "tok0 tok1 tok2 tok3 tok4",
    )
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 5


def test_stream_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="fake-gpt", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    contents = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(contents) == 20
    assert "".join(contents) == " ".join(f"tok{i}" for i in range(20))
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (7, 20)


def test_stream_without_include_usage_has_no_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="fake-gpt", messages=USER, stream=True))
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)


def test_usage_controls_are_reported(client: openai.OpenAI) -> None:
    headers = {
        "x-fakellm-cache-read-tokens": "100",
        "x-fakellm-reasoning-tokens": "8",
        "x-fakellm-completion-tokens": "3",
    }
    completion = client.chat.completions.create(model="fake-gpt", messages=USER, extra_headers=headers)
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens_details is not None
    assert usage.completion_tokens_details is not None
    assert (usage.prompt_tokens, usage.prompt_tokens_details.cached_tokens) == (107, 100)
    assert (usage.completion_tokens, usage.completion_tokens_details.reasoning_tokens) == (11, 8)


def test_tool_call_round_trip(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model="fake-gpt", messages=USER, tools=[WEATHER_TOOL])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "fake", "unit": "c"}
    history: list[ChatCompletionMessageParam] = [
        *USER,
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": call.function.arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    second = client.chat.completions.create(model="fake-gpt", messages=history, tools=[WEATHER_TOOL])
    assert (second.choices[0].finish_reason, second.choices[0].message.tool_calls) == ("stop", None)
    assert second.choices[0].message.content


def test_streamed_tool_call_deltas_accumulate(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="fake-gpt", messages=USER, tools=[WEATHER_TOOL], stream=True))
    deltas = [tc for c in chunks if c.choices and c.choices[0].delta.tool_calls for tc in c.choices[0].delta.tool_calls]
    assert deltas[0].function is not None
    assert (deltas[0].function.name, deltas[0].id is not None) == ("get_weather", True)
    arguments = "".join(d.function.arguments or "" for d in deltas if d.function is not None)
    assert json.loads(arguments) == {"city": "fake", "unit": "c"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_tool_choice_none_answers_with_text(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="fake-gpt", messages=USER, tools=[WEATHER_TOOL], tool_choice="none"
    )
    assert completion.choices[0].message.tool_calls is None


def test_rate_limit_by_header_with_retry_after(client: openai.OpenAI) -> None:
    headers = {"x-fakellm-status": "429", "x-fakellm-retry-after": "2"}
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="fake-gpt", messages=USER, extra_headers=headers)
    assert caught.value.response.headers["retry-after"] == "2"
    assert caught.value.code == "rate_limit_exceeded"


def test_status_by_model_directive(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="fake-gpt+retry_after=1+status=503", messages=USER)
    assert (caught.value.status_code, caught.value.response.headers["retry-after"]) == (503, "1")


def test_stream_request_can_fail_before_streaming(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="fake-gpt+status=400", messages=USER, stream=True)


def test_mid_stream_disconnect_raises(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model="fake-gpt+disconnect=5", messages=USER, stream=True)
    received: list[object] = []
    with pytest.raises(openai.APIConnectionError):  # the SDK wraps httpx's incomplete-chunked-read error
        received.extend(stream)  # keeps the chunks that arrived before the error
    assert len(received) == 5


def test_latency_delays_the_response(client: openai.OpenAI) -> None:
    started = time.perf_counter()
    client.chat.completions.create(model="fake-gpt", messages=USER, extra_headers={"x-fakellm-latency-ms": "200"})
    assert time.perf_counter() - started >= 0.2


def test_ttft_and_pacing_shape_the_stream(client: openai.OpenAI) -> None:
    headers = {"x-fakellm-ttft-ms": "150", "x-fakellm-tokens-per-second": "100", "x-fakellm-completion-tokens": "10"}
    started = time.perf_counter()
    stream = client.chat.completions.create(model="fake-gpt", messages=USER, stream=True, extra_headers=headers)
    arrivals = [time.perf_counter() - started for c in stream if c.choices and c.choices[0].delta.content]
    assert arrivals[0] >= 0.15
    assert arrivals[-1] - arrivals[0] >= 9 * 0.01 * 0.9  # nine gaps of 10 ms, allowing timer slack


def test_models_are_listed(client: openai.OpenAI) -> None:
    assert {"fake-gpt", "fake-claude"} <= {model.id for model in client.models.list()}


def test_malformed_json_is_an_openai_400(fakellm_url: str) -> None:
    response = httpx.post(f"{fakellm_url}/v1/chat/completions", content=b"{not json")
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_unknown_path_is_a_404(fakellm_url: str) -> None:
    response = httpx.get(f"{fakellm_url}/v1/nope")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "unknown_url")


@pytest.mark.usefixtures("stats_reset")
def test_stats_record_what_the_upstream_received(client: openai.OpenAI, fakellm_url: str) -> None:
    client.chat.completions.create(model="fake-gpt", messages=USER)
    client.chat.completions.create(model="fake-gpt", messages=USER, extra_headers={"x-trace": "abc"})
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="fake-gpt+status=429", messages=USER)
    stats = httpx.get(f"{fakellm_url}/_fakellm/stats").json()
    assert stats["requests"]["/v1/chat/completions"] == {"fake-gpt": 2, "fake-gpt+status=429": 1}
    last = httpx.get(f"{fakellm_url}/_fakellm/requests").json()["/v1/chat/completions"]
    assert last["body"]["model"] == "fake-gpt+status=429"
    assert last["headers"]["authorization"] == "Bearer test"
