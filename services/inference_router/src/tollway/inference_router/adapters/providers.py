"""One provider adapter per catalogue provider, with its credential read from the environment once."""

from __future__ import annotations

import os
from collections.abc import Mapping

from tollway.inference_router.adapters.aws_credentials import AwsCredentialSource
from tollway.inference_router.adapters.bedrock import BedrockUpstream
from tollway.inference_router.domain.catalog import Catalog, Provider
from tollway.inference_router.domain.errors import CatalogError
from tollway.inference_router.domain.upstream import (
    AnthropicUpstream,
    AzureOpenAIUpstream,
    GeminiUpstream,
    OpenAICompatibleUpstream,
)
from tollway.inference_router.ports import ProviderAdapter


def build_adapters(catalog: Catalog, environ: Mapping[str, str] | None = None) -> dict[str, ProviderAdapter]:
    env = os.environ if environ is None else environ
    return {provider.id: _adapter(provider, env) for provider in catalog.providers.values()}


def _adapter(provider: Provider, env: Mapping[str, str]) -> ProviderAdapter:
    key = None
    if provider.credential_env:
        key = env.get(provider.credential_env)
        if not key:
            raise CatalogError(f"provider '{provider.id}': environment variable {provider.credential_env} is not set")
    if provider.kind == "openai_compatible":
        return OpenAICompatibleUpstream(provider, key)
    if provider.kind == "anthropic":
        return AnthropicUpstream(provider, key)
    if provider.kind == "gemini":
        return GeminiUpstream(provider, key)
    if provider.kind == "azure_openai":
        return AzureOpenAIUpstream(provider, key)
    if key is not None:  # a Bedrock API key replaces SigV4
        return BedrockUpstream(provider, api_key=key)
    return BedrockUpstream(provider, credentials=AwsCredentialSource.from_chain(provider.id, provider.aws_profile))
