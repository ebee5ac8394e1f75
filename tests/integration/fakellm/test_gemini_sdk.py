"""The official google-genai SDK against a real fakellm server: generateContent, streaming, tools, errors."""

from collections.abc import Iterator

import pytest
from google import genai
from google.genai import errors, types

PROMPT = "What is the weather like?"  # 25 characters -> 7 prompt tokens


@pytest.fixture
def client(fakellm_url: str) -> Iterator[genai.Client]:
    options = types.HttpOptions(base_url=fakellm_url, retry_options=types.HttpRetryOptions(attempts=1))
    sdk = genai.Client(api_key="test-key", http_options=options)
    yield sdk
    sdk.close()


def test_generate_content(client: genai.Client) -> None:
    response = client.models.generate_content(model="fake-gemini", contents=PROMPT)

    assert response.text == " ".join(f"tok{i}" for i in range(20))
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    usage = response.usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.candidates_token_count, usage.total_token_count) == (7, 20, 27)


def test_max_output_tokens_truncates_and_reasoning_is_reported_apart(client: genai.Client) -> None:
    config = types.GenerateContentConfig(max_output_tokens=5, system_instruction="Be brief.")
    response = client.models.generate_content(
        model="fake-gemini+reasoning=9+cache_read=4", contents=PROMPT, config=config
    )

    assert response.text == "tok0 tok1 tok2 tok3 tok4"
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    usage = response.usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.cached_content_token_count) == (
        13,
        4,
    )  # 9 + 25 chars -> 9 counted, + 4 cached
    assert (usage.candidates_token_count, usage.thoughts_token_count) == (5, 9)


def test_stream(client: genai.Client) -> None:
    chunks = list(client.models.generate_content_stream(model="fake-gemini+tokens=4", contents=PROMPT))

    assert "".join(chunk.text or "" for chunk in chunks) == "tok0 tok1 tok2 tok3"
    last = chunks[-1]
    assert last.candidates is not None
    assert last.candidates[0].finish_reason == types.FinishReason.STOP
    assert all(c.candidates and c.candidates[0].finish_reason is None for c in chunks[:-1])
    assert last.usage_metadata is not None
    assert (last.usage_metadata.prompt_token_count, last.usage_metadata.candidates_token_count) == (7, 4)


def test_function_call(client: genai.Client) -> None:
    weather = types.FunctionDeclaration(
        name="get_weather",
        parameters_json_schema={
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    )
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[weather])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    response = client.models.generate_content(model="fake-gemini", contents=PROMPT, config=config)

    (call,) = response.function_calls or []
    assert (call.name, call.args) == ("get_weather", {"city": "fake"})


def test_rate_limit_is_a_client_error_with_code_429(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as raised:
        client.models.generate_content(model="fake-gemini+status=429+retry_after=3", contents=PROMPT)

    assert raised.value.code == 429
    assert raised.value.status == "RESOURCE_EXHAUSTED"
    assert raised.value.response.headers["retry-after"] == "3"


def test_server_error(client: genai.Client) -> None:
    with pytest.raises(errors.ServerError) as raised:
        client.models.generate_content(model="fake-gemini+status=503", contents=PROMPT)
    assert raised.value.code == 503
