"""The official OpenAI SDK's Azure client and its embeddings call against a real fakellm server."""

from collections.abc import Iterator

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "What is the weather like?"}]  # 7 prompt tokens
API_VERSION = "2024-10-21"


@pytest.fixture
def azure(fakellm_url: str) -> Iterator[openai.AzureOpenAI]:
    with openai.AzureOpenAI(
        azure_endpoint=fakellm_url, api_version=API_VERSION, api_key="azure-key", max_retries=0
    ) as sdk:
        yield sdk


def test_azure_chat_completion_by_deployment(azure: openai.AzureOpenAI, fakellm_url: str, stats_reset: None) -> None:
    completion = azure.chat.completions.create(model="my-gpt-deployment", messages=USER)

    assert completion.choices[0].message.content == " ".join(f"tok{i}" for i in range(20))
    assert completion.model == "my-gpt-deployment"
    stats = httpx.get(f"{fakellm_url}/_fakellm/stats").json()
    assert stats["requests"] == {"/openai/deployments/my-gpt-deployment/chat/completions": {"my-gpt-deployment": 1}}


def test_azure_stream(azure: openai.AzureOpenAI) -> None:
    stream = azure.chat.completions.create(
        model="dep+tokens=3",
        messages=USER,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "tok0 tok1 tok2"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 3


def test_azure_without_api_version_is_404(fakellm_url: str) -> None:
    response = httpx.post(
        f"{fakellm_url}/openai/deployments/dep/chat/completions", headers={"api-key": "k"}, json={"messages": USER}
    )
    assert response.status_code == 404
    assert "api-version" in response.json()["error"]["message"]


def test_azure_without_key_is_401(fakellm_url: str) -> None:
    response = httpx.post(
        f"{fakellm_url}/openai/deployments/dep/chat/completions?api-version={API_VERSION}", json={"messages": USER}
    )
    assert response.status_code == 401


@pytest.mark.parametrize("encoding", ["float", None])
def test_embeddings(fakellm_url: str, encoding: str | None) -> None:
    with openai.OpenAI(base_url=f"{fakellm_url}/v1", api_key="k", max_retries=0) as sdk:
        extra = {} if encoding is None else {"encoding_format": encoding}
        result = sdk.embeddings.create(model="fake-embed", input=["hello", "world!!"], dimensions=16, **extra)  # type: ignore[arg-type]

    assert [len(item.embedding) for item in result.data] == [16, 16]
    assert abs(sum(v * v for v in result.data[0].embedding) - 1.0) < 1e-4  # unit length, base64 or not
    assert result.data[0].embedding != result.data[1].embedding
    assert (result.usage.prompt_tokens, result.usage.total_tokens) == (4, 4)  # 5 chars -> 2, 7 chars -> 2


def test_azure_embeddings(azure: openai.AzureOpenAI) -> None:
    result = azure.embeddings.create(model="embed-dep", input="hello")
    assert len(result.data[0].embedding) == 8
