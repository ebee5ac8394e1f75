"""Gemini, Azure OpenAI and OpenAI-compatible quirks: request shapes, and real fake answers decoded end to end."""

import random
from collections.abc import Awaitable, Callable

import msgspec
import pytest

from tollway.inference_router.domain.canonical import ChatRequest, Message, Tool, ToolCall, ToolChoice, Usage
from tollway.inference_router.domain.catalog import Provider, Quirks, parse_catalog
from tollway.inference_router.domain.deltas import StreamAccumulator
from tollway.inference_router.domain.errors import CatalogError, UpstreamStreamError
from tollway.inference_router.domain.gemini_response import GeminiChunkDecoder
from tollway.inference_router.domain.upstream import (
    AzureOpenAIUpstream,
    GeminiUpstream,
    OpenAICompatibleUpstream,
    UpstreamRequest,
)

Send = Callable[[UpstreamRequest], Awaitable[tuple[int, dict[str, str], list[bytes]]]]
GEMINI = Provider(id="gemini", kind="gemini", base_url="http://127.0.0.1:8090/v1beta")
AZURE = Provider(id="azure", kind="azure_openai", base_url="http://127.0.0.1:8090/", api_version="2024-10-21")
HELLO = ChatRequest(
    model="public", messages=(Message(role="system", content="Be brief."), Message(role="user", content="12345678"))
)
WEATHER = Tool(
    name="weather",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
Json = msgspec.json.Decoder(dict[str, object])


def test_gemini_request_shape() -> None:
    request = msgspec.structs.replace(
        HELLO, temperature=0.5, stop=("END",), tools=(WEATHER,), tool_choice=ToolChoice(mode="tool", name="weather")
    )
    sent = GeminiUpstream(GEMINI, "g-key").build_request(
        request, upstream_model="gemini-2.0-flash", default_max_tokens=64
    )

    assert sent.url == "http://127.0.0.1:8090/v1beta/models/gemini-2.0-flash:generateContent"
    assert dict(sent.headers)["x-goog-api-key"] == "g-key"
    assert Json.decode(sent.body) == {
        "contents": [{"parts": [{"text": "12345678"}], "role": "user"}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "tools": [{"functionDeclarations": [{"name": "weather", "parametersJsonSchema": WEATHER.parameters}]}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["weather"]}},
        "generationConfig": {"maxOutputTokens": 64, "temperature": 0.5, "stopSequences": ["END"]},
    }


def test_gemini_tool_results_name_their_function_and_turns_alternate() -> None:
    call = ToolCall(id="call_1", name="weather", arguments='{"city":"Oslo"}')
    request = msgspec.structs.replace(
        HELLO,
        messages=(
            Message(role="user", content="weather?"),
            Message(role="assistant", tool_calls=(call,)),
            Message(role="tool", tool_call_id="call_1", content='{"temp": 3}'),
            Message(role="user", content="and tomorrow?"),
        ),
        tools=(WEATHER,),
    )
    body = Json.decode(
        GeminiUpstream(GEMINI, None).build_request(request, upstream_model="g", default_max_tokens=9).body
    )

    assert body["contents"] == [
        {"parts": [{"text": "weather?"}], "role": "user"},
        {"parts": [{"functionCall": {"name": "weather", "args": {"city": "Oslo"}, "id": "call_1"}}], "role": "model"},
        {
            "parts": [
                {"functionResponse": {"name": "weather", "response": {"temp": 3}, "id": "call_1"}},
                {"text": "and tomorrow?"},
            ],
            "role": "user",
        },
    ]


async def test_gemini_answer_from_the_fake(fakellm: Send) -> None:
    adapter = GeminiUpstream(GEMINI, "k")
    upstream = adapter.build_request(
        HELLO, upstream_model="fake-gemini+tokens=3+cache_read=2+reasoning=4", default_max_tokens=50
    )
    status, _, chunks = await fakellm(upstream)

    assert status == 200
    response = adapter.parse_response(b"".join(chunks))
    assert (response.content, response.finish_reason, response.model) == ("tok0 tok1 tok2", "stop", "fake-gemini")
    # 17 chars -> 5 counted + 2 cached; thoughts are output on top of the 3 visible tokens.
    assert response.usage == Usage(prompt_tokens=7, completion_tokens=7, cache_read_tokens=2, reasoning_tokens=4)


async def test_gemini_tool_call_from_the_fake(fakellm: Send) -> None:
    adapter = GeminiUpstream(GEMINI, "k")
    request = msgspec.structs.replace(HELLO, tools=(WEATHER,))
    _, _, chunks = await fakellm(adapter.build_request(request, upstream_model="fake-gemini", default_max_tokens=50))

    response = adapter.parse_response(b"".join(chunks))
    assert response.finish_reason == "tool_calls"
    (call,) = response.tool_calls
    assert (call.name, call.arguments) == ("weather", '{"city":"fake"}')


@pytest.mark.parametrize("seed", range(3))
async def test_gemini_stream_split_anywhere(fakellm: Send, seed: int) -> None:
    adapter = GeminiUpstream(GEMINI, "k")
    request = msgspec.structs.replace(HELLO, stream=True)
    upstream = adapter.build_request(request, upstream_model="fake-gemini+tokens=4", default_max_tokens=50)
    assert upstream.url.endswith("/models/fake-gemini+tokens=4:streamGenerateContent?alt=sse")
    _, _, chunks = await fakellm(upstream)
    body = b"".join(chunks)
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(body)), 12))
    decoder = adapter.stream_decoder()
    seen = StreamAccumulator()
    for start, end in zip([0, *cuts], [*cuts, len(body)], strict=True):
        for delta in decoder.feed(body[start:end]):
            seen.observe(delta)
    decoder.close()

    assert decoder.finished
    response = seen.response()
    assert (response.content, response.finish_reason) == ("tok0 tok1 tok2 tok3", "stop")
    assert seen.usage == Usage(prompt_tokens=5, completion_tokens=4)  # the last chunk's cumulative counts


def test_gemini_error_inside_a_stream() -> None:
    decoder = GeminiChunkDecoder()
    with pytest.raises(UpstreamStreamError) as raised:
        decoder.feed(b'data: {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}\r\n\r\n')
    assert raised.value.upstream_status == 429


async def test_gemini_rate_limit_from_the_fake(fakellm: Send) -> None:
    adapter = GeminiUpstream(GEMINI, "k")
    upstream = adapter.build_request(HELLO, upstream_model="fake-gemini+status=429+retry_after=7", default_max_tokens=5)
    status, headers, chunks = await fakellm(upstream)
    assert (status, headers["retry-after"]) == (429, "7")
    assert adapter.error_message(b"".join(chunks)).startswith("Resource has been exhausted")


def test_azure_request_shape() -> None:
    sent = AzureOpenAIUpstream(AZURE, "az-key").build_request(HELLO, upstream_model="my-gpt4o", default_max_tokens=9)
    assert sent.url == "http://127.0.0.1:8090/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21"
    assert dict(sent.headers)["api-key"] == "az-key"
    assert "authorization" not in dict(sent.headers)


async def test_azure_answer_from_the_fake(fakellm: Send) -> None:
    adapter = AzureOpenAIUpstream(AZURE, "az-key")
    status, _, chunks = await fakellm(adapter.build_request(HELLO, upstream_model="dep+tokens=2", default_max_tokens=9))
    assert status == 200, chunks
    response = adapter.parse_response(b"".join(chunks))
    assert response.content == "tok0 tok1"


def test_openai_compatible_quirks() -> None:
    provider = Provider(
        id="groq",
        kind="openai_compatible",
        base_url="https://api.example.test/openai/v1",
        auth_header="x-api-key",
        quirks=Quirks(
            chat_path="/chat",
            max_tokens_field="max_completion_tokens",
            stream_usage=False,
            drop_params=("seed", "parallel_tool_calls"),
        ),
    )
    request = msgspec.structs.replace(HELLO, stream=True, max_tokens=12, seed=3, parallel_tool_calls=True)
    sent = OpenAICompatibleUpstream(provider, "k-1").build_request(
        request, upstream_model="llama", default_max_tokens=5
    )

    assert sent.url == "https://api.example.test/openai/v1/chat"
    assert dict(sent.headers)["x-api-key"] == "k-1"  # no Bearer prefix on a custom header
    body = Json.decode(sent.body)
    assert body["max_completion_tokens"] == 12
    assert not {"max_tokens", "seed", "parallel_tool_calls", "stream_options"} & set(body)


def test_openai_compatible_custom_scheme() -> None:
    provider = Provider(id="p", kind="openai_compatible", base_url="http://x", auth_scheme="Token")
    sent = OpenAICompatibleUpstream(provider, "abc").build_request(HELLO, upstream_model="m", default_max_tokens=5)
    assert dict(sent.headers)["authorization"] == "Token abc"


MODEL = (
    "{id: m, context_window: 10, max_output_tokens: 5, prices: {input: 1, output: 1, cache_read: 1, cache_write: 1},"
    " deployments: [{provider: p, upstream_model: u}]}"
)


@pytest.mark.parametrize(
    ("provider", "message"),
    [
        ("{id: p, kind: azure_openai, base_url: 'http://x'}", "providers[0].api_version: required"),
        ("{id: p, kind: openai_compatible, base_url: 'http://x', quirks: {drop_params: [messages]}}", "cannot drop"),
        ("{id: p, kind: openai_compatible, base_url: 'http://x', quirks: {chat_pth: /c}}", "chat_pth"),
    ],
)
def test_catalogue_checks_the_new_provider_fields(provider: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_catalog(f"providers: [{provider}]\nmodels: [{MODEL}]".encode())
