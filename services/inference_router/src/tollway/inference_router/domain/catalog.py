"""The catalogue: providers, public models, their deployments and prices, validated once at load."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Annotated, Any, Literal

import msgspec

from tollway.inference_router.domain.errors import CatalogError, describe_validation_error

ProviderKind = Literal["openai_compatible", "anthropic", "bedrock", "gemini", "azure_openai"]
# Request fields an OpenAI-compatible server may reject; ``drop_params`` leaves them out of the body.
DROPPABLE_PARAMS = frozenset(
    {
        "parallel_tool_calls",
        "user",
        "metadata",
        "response_format",
        "seed",
        "frequency_penalty",
        "presence_penalty",
        "stop",
        "top_p",
        "temperature",
        "tool_choice",
    }
)
NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
EnvName = Annotated[str, msgspec.Meta(pattern=r"^[A-Z_][A-Z0-9_]*$")]
Positive = Annotated[int, msgspec.Meta(ge=1)]
MicrosPerMillion = Annotated[int, msgspec.Meta(ge=0)]


class Entry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base: a typo'd key in the file is an error, not a silently ignored setting."""


class Quirks(Entry, frozen=True, kw_only=True):
    """How an ``openai_compatible`` server departs from OpenAI's API (vLLM, Ollama, Groq, Together, OpenRouter…).

    ``chat_path``/``embeddings_path`` are appended to ``base_url``; ``max_tokens_field`` is the name the cap is
    sent under (OpenAI's newer ``max_completion_tokens`` or the classic ``max_tokens``); ``stream_usage: false``
    for servers that reject ``stream_options`` (their streams are then billed on an estimate); ``drop_params``
    are fields never sent.
    """

    chat_path: NonEmpty = "/chat/completions"
    embeddings_path: NonEmpty = "/embeddings"
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    stream_usage: bool = True
    drop_params: tuple[str, ...] = ()


class Provider(Entry, frozen=True, kw_only=True):
    """An upstream endpoint. ``credential_env`` names the env var holding its key (``None``: no key sent).

    ``bedrock`` providers sign with SigV4 from the standard AWS credential chain (env, shared files, SSO,
    container or instance role) for ``region``; there ``credential_env`` instead names a Bedrock API key
    (sent as a bearer token), and ``aws_profile`` picks a profile of the shared files.
    ``azure_openai`` providers need ``api_version``; their deployments' ``upstream_model`` is the Azure
    deployment name. ``auth_header``/``auth_scheme`` say how the key is sent (default: the kind's own way,
    ``authorization: Bearer`` for OpenAI-compatible servers).
    """

    id: NonEmpty
    kind: ProviderKind
    base_url: NonEmpty
    credential_env: EnvName | None = None
    headers: dict[str, str] = {}
    region: NonEmpty | None = None
    aws_profile: NonEmpty | None = None
    api_version: NonEmpty | None = None
    auth_header: NonEmpty | None = None
    auth_scheme: str | None = None
    quirks: Quirks = Quirks()


class Deployment(Entry, frozen=True, kw_only=True):
    """One place a public model is served: a provider and the model id that provider knows it by."""

    provider: NonEmpty
    upstream_model: NonEmpty
    weight: Positive = 1  # for the weighted strategy; the others ignore it
    prices: Prices | None = None  # what this deployment costs us, for the cheapest strategy (else the model's)

    @property
    def key(self) -> str:
        """Identifies the deployment in breaker and cooldown state: ``<provider>/<upstream model>``."""
        return f"{self.provider}/{self.upstream_model}"


class Prices(Entry, frozen=True, kw_only=True):
    """Integer micro-USD per million tokens of each kind (1 USD = 1,000,000 micros); ``per_request`` is micro-USD.

    ``cache_write`` is the 5-minute cache write (Anthropic's default TTL); ``cache_write_1h`` the 1-hour one
    (defaults to ``cache_write``). ``reasoning`` prices reasoning tokens (defaults to ``output``).
    """

    input: MicrosPerMillion
    output: MicrosPerMillion
    cache_read: MicrosPerMillion
    cache_write: MicrosPerMillion
    cache_write_1h: MicrosPerMillion | None = None
    reasoning: MicrosPerMillion | None = None
    per_request: MicrosPerMillion = 0

    @property
    def cache_write_1h_price(self) -> int:
        return self.cache_write if self.cache_write_1h is None else self.cache_write_1h

    @property
    def reasoning_price(self) -> int:
        return self.output if self.reasoning is None else self.reasoning


class Model(Entry, frozen=True, kw_only=True):
    """``kind: embedding`` models serve ``/v1/embeddings`` only (``output`` price unused); chat models the rest."""

    id: NonEmpty
    aliases: tuple[NonEmpty, ...] = ()
    context_window: Positive
    max_output_tokens: Positive
    deployments: Annotated[tuple[Deployment, ...], msgspec.Meta(min_length=1)]
    prices: Prices
    anonymous_allowed: bool = False
    kind: Literal["chat", "embedding"] = "chat"
    strategy: Literal["ordered", "weighted", "cheapest", "lowest_latency", "least_busy"] = "ordered"


class CodeRouterConfig(Entry, frozen=True, kw_only=True):
    """Section ``code_router``: the public model of each tier (1 cheapest … 4 strongest) for ``router:code``."""

    tiers: dict[int, NonEmpty]
    fallback: NonEmpty | None = None  # served when a tier has no model


class CatalogDocument(Entry, frozen=True, kw_only=True):
    """``price_version`` names the price table (e.g. ``2026-12-01``); without one it is a digest of every price.

    An unquoted date there is a YAML date, taken as its ISO text.
    """

    providers: tuple[Provider, ...]
    models: tuple[Model, ...]
    price_version: Any = None  # text or a YAML date; checked in ``Catalog``
    code_router: CodeRouterConfig | None = None


class Catalog:
    """Validated catalogue with lookups by model id or alias and by provider id."""

    def __init__(self, document: CatalogDocument) -> None:
        self.document = document
        self.providers: dict[str, Provider] = _index_providers(document.providers)
        self._models: dict[str, Model] = _index_models(document.models, self.providers)
        self.price_version = _price_version(document)
        _check_code_router(document.code_router, self._models)

    @property
    def models(self) -> tuple[Model, ...]:
        return self.document.models

    def model(self, name: str) -> Model | None:
        """The public model called ``name`` (its id or one of its aliases)."""
        return self._models.get(name)

    def provider(self, provider_id: str) -> Provider:
        return self.providers[provider_id]


def _check_code_router(config: CodeRouterConfig | None, models: dict[str, Model]) -> None:
    if config is None:
        return
    if not config.tiers or not set(config.tiers) <= {1, 2, 3, 4}:
        raise CatalogError("code_router.tiers: give tiers 1 to 4 (at least one), e.g. {1: small-model, 4: big-model}")
    for tier, name in sorted(config.tiers.items()):
        if models.get(name) is None or models[name].kind != "chat":
            raise CatalogError(f"code_router.tiers.{tier}: '{name}' is not a chat model of this catalogue")
    if config.fallback is not None and config.fallback not in models:
        raise CatalogError(f"code_router.fallback: '{config.fallback}' is not a model of this catalogue")
    if 4 not in config.tiers and config.fallback is None:
        raise CatalogError("code_router: needs tier 4 or a fallback (the strongest model is the savings baseline)")


def _price_version(document: CatalogDocument) -> str:
    named = document.price_version
    if named is None:
        return price_digest(document.models)
    if isinstance(named, date):
        return named.isoformat()
    if isinstance(named, str) and named.strip():
        return named.strip()
    raise CatalogError("price_version: must be a non-empty text or a date")


def price_digest(models: tuple[Model, ...]) -> str:
    """A version that changes whenever any model's price does: ``p-`` and 12 hex digits of a SHA-256."""
    table = {model.id: model.prices for model in models}
    return "p-" + hashlib.sha256(msgspec.json.encode(table, order="sorted")).hexdigest()[:12]


def parse_catalog(yaml_text: bytes) -> Catalog:
    """Decode and validate catalogue YAML; ``CatalogError`` names the bad entry (``models[2].deployments[0]…``)."""
    try:
        document = msgspec.yaml.decode(yaml_text, type=CatalogDocument)
    except msgspec.ValidationError as error:
        path, problem = describe_validation_error(error)
        raise CatalogError(f"{path}: {problem}" if path else problem) from None
    except msgspec.DecodeError as error:
        raise CatalogError(f"not valid YAML: {error}") from None
    return Catalog(document)


def _index_providers(providers: tuple[Provider, ...]) -> dict[str, Provider]:
    index: dict[str, Provider] = {}
    for i, provider in enumerate(providers):
        if provider.id in index:
            raise CatalogError(f"providers[{i}].id: duplicate provider id '{provider.id}'")
        if not provider.base_url.startswith(("http://", "https://")):
            raise CatalogError(f"providers[{i}].base_url: must be an http(s) URL, got '{provider.base_url}'")
        if provider.kind == "bedrock" and provider.region is None:
            raise CatalogError(f"providers[{i}].region: required for a bedrock provider (e.g. us-east-1)")
        if provider.kind == "azure_openai" and provider.api_version is None:
            raise CatalogError(f"providers[{i}].api_version: required for an azure_openai provider (e.g. 2024-10-21)")
        unknown = sorted(set(provider.quirks.drop_params) - DROPPABLE_PARAMS)
        if unknown:
            raise CatalogError(
                f"providers[{i}].quirks.drop_params: cannot drop {unknown}; droppable: {sorted(DROPPABLE_PARAMS)}"
            )
        index[provider.id] = provider
    return index


def _index_models(models: tuple[Model, ...], providers: dict[str, Provider]) -> dict[str, Model]:
    index: dict[str, Model] = {}
    owners: dict[str, str] = {}
    for i, model in enumerate(models):
        _check_model(model, f"models[{i}]", providers)
        names = [(f"models[{i}].id", model.id)] + [
            (f"models[{i}].aliases[{j}]", a) for j, a in enumerate(model.aliases)
        ]
        for path, name in names:
            if name in owners:
                raise CatalogError(f"{path}: '{name}' is already used by {owners[name]}")
            owners[name] = f"models[{i}]"
            index[name] = model
    return index


def _check_model(model: Model, path: str, providers: dict[str, Provider]) -> None:
    if model.max_output_tokens > model.context_window:
        raise CatalogError(f"{path}.max_output_tokens: must not exceed context_window ({model.context_window})")
    seen: set[str] = set()
    for j, deployment in enumerate(model.deployments):
        if deployment.provider not in providers:
            raise CatalogError(f"{path}.deployments[{j}].provider: unknown provider '{deployment.provider}'")
        if deployment.key in seen:
            raise CatalogError(f"{path}.deployments[{j}]: duplicate deployment '{deployment.key}'")
        seen.add(deployment.key)
