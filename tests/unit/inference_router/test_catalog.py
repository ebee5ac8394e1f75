"""Catalogue validation (errors name the entry), lookups, and the example catalogue file."""

from pathlib import Path

import pytest

from tollway.inference_router.catalog_loader import DEFAULT_CATALOG_PATH, load_catalog
from tollway.inference_router.domain.catalog import Deployment, Prices, parse_catalog
from tollway.inference_router.domain.errors import CatalogError

REPO = Path(__file__).resolve().parents[3]
PROVIDERS = """
providers:
  - {id: openai, kind: openai_compatible, base_url: "https://api.openai.com/v1", credential_env: OPENAI_API_KEY}
  - {id: anthropic, kind: anthropic, base_url: "https://api.anthropic.com", headers: {anthropic-beta: x}}
"""
PRICES = "{input: 1, output: 2, cache_read: 3, cache_write: 4}"


def model(name: str = "m", extra: str = "", provider: str = "openai") -> str:
    return (
        f"  - {{id: {name}, context_window: 100, max_output_tokens: 10, prices: {PRICES}, "
        f"deployments: [{{provider: {provider}, upstream_model: u}}]{extra}}}\n"
    )


def catalog_text(*models: str, providers: str = PROVIDERS) -> bytes:
    return (providers + "models:\n" + "".join(models)).encode()


def test_lookups_by_id_and_alias() -> None:
    catalog = parse_catalog(catalog_text(model("a", ", aliases: [a1, a2]"), model("b", provider="anthropic")))
    assert catalog.model("a") is catalog.model("a2")
    assert catalog.model("b") is not None
    assert catalog.model("nope") is None
    assert catalog.provider("anthropic").headers == {"anthropic-beta": "x"}
    assert catalog.provider("openai").credential_env == "OPENAI_API_KEY"
    assert [m.id for m in catalog.models] == ["a", "b"]
    first = catalog.model("a")
    assert first is not None
    assert first.deployments == (Deployment(provider="openai", upstream_model="u"),)
    assert first.prices == Prices(input=1, output=2, cache_read=3, cache_write=4)
    assert first.anonymous_allowed is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            catalog_text(model("a"), model("b"), model("c", provider="opnai")),
            "models[2].deployments[0].provider: unknown provider 'opnai'",
        ),
        (catalog_text(model("a"), model("a")), "models[1].id: 'a' is already used by models[0]"),
        (
            catalog_text(model("a"), model("b", ", aliases: [a]")),
            "models[1].aliases[0]: 'a' is already used by models[0]",
        ),
        (catalog_text(model("a", ", aliases: [x, x]")), "models[0].aliases[1]: 'x' is already used by models[0]"),
        (
            catalog_text(
                model(
                    "a", ", deployments: [{provider: openai, upstream_model: u}, {provider: openai, upstream_model: u}]"
                )
            ),
            "models[0].deployments[1]: duplicate deployment 'openai/u'",
        ),
        (catalog_text(model("a", ", deployments: []")), "models[0].deployments: Expected `array` of length >= 1"),
        (
            catalog_text(model("a", ", max_output_tokens: 1000")),
            "models[0].max_output_tokens: must not exceed context_window (100)",
        ),
        (catalog_text(model("a", ", context_window: 0")), "models[0].context_window: Expected `int` >= 1"),
        (
            catalog_text(model("a", ", prices: {input: -1, output: 2, cache_read: 3, cache_write: 4}")),
            "models[0].prices.input: Expected `int` >= 0",
        ),
        (
            catalog_text(model("a", ", prices: {input: 0.5, output: 2, cache_read: 3, cache_write: 4}")),
            "models[0].prices.input: Expected `int`, got `float`",
        ),
        (
            catalog_text(model("a", ", prices: {input: 1, output: 2, cache_read: 3}")),
            "models[0].prices.cache_write: required field is missing",
        ),
        (
            catalog_text(model("a", ", anonymous_allow: true")),
            "models[0]: Object contains unknown field `anonymous_allow`",
        ),
        (
            catalog_text(model("a"), providers="providers:\n  - {id: p, kind: openai, base_url: 'http://x'}\n"),
            "providers[0].kind: Invalid enum value 'openai'",
        ),
        (
            catalog_text(
                model("a", provider="p"),
                providers="providers:\n  - {id: p, kind: anthropic, base_url: 'http://x'}\n"
                "  - {id: p, kind: anthropic, base_url: 'http://y'}\n",
            ),
            "providers[1].id: duplicate provider id 'p'",
        ),
        (
            catalog_text(
                model("a", provider="p"), providers="providers:\n  - {id: p, kind: bedrock, base_url: 'x.com'}\n"
            ),
            "providers[0].base_url: must be an http(s) URL, got 'x.com'",
        ),
        (
            catalog_text(
                model("a", provider="p"),
                providers="providers:\n  - {id: p, kind: bedrock, base_url: 'https://x', credential_env: 'sk-123'}\n",
            ),
            "providers[0].credential_env: Expected `str` matching regex '^[A-Z_][A-Z0-9_]*$'",
        ),
        (b"providers: [\n", None),
        (b"models: []\n", "providers: required field is missing"),
    ],
)
def test_invalid_catalogues_name_the_entry(text: bytes, message: str | None) -> None:
    with pytest.raises(CatalogError) as caught:
        parse_catalog(text)
    if message is None:
        assert str(caught.value).startswith("not valid YAML:")
    else:
        assert str(caught.value) == message


def test_example_catalogue_loads() -> None:
    catalog = load_catalog(REPO / DEFAULT_CATALOG_PATH)
    assert {p.id: (p.kind, p.base_url) for p in catalog.providers.values()} == {
        "fake-openai": ("openai_compatible", "http://127.0.0.1:8090/v1"),
        "fake-openai-backup": ("openai_compatible", "http://127.0.0.1:8090/v1"),
        "fake-anthropic": ("anthropic", "http://127.0.0.1:8090"),
        "fake-gemini": ("gemini", "http://127.0.0.1:8090/v1beta"),
        "fake-azure": ("azure_openai", "http://127.0.0.1:8090"),
    }
    embedding = catalog.model("text-embedding-3-small")
    assert embedding is not None
    assert embedding.kind == "embedding"
    mini = catalog.model("gpt-4o-mini")
    sonnet = catalog.model("claude-sonnet-4-20250514")
    haiku = catalog.model("claude-3-5-haiku-latest")
    assert mini is not None
    assert sonnet is not None
    assert haiku is not None
    assert [d.provider for d in mini.deployments] == ["fake-openai", "fake-openai-backup"]
    assert [catalog.provider(d.provider).kind for d in sonnet.deployments] == ["anthropic", "openai_compatible"]
    assert [d.provider for d in haiku.deployments] == ["fake-anthropic"]
    assert mini.prices.input == 150_000
    assert mini.anonymous_allowed


def test_loader_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "none.yaml"
    with pytest.raises(CatalogError, match=r"none\.yaml: cannot read the catalogue"):
        load_catalog(missing)
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(catalog_text(model("a", provider="nope")))
    with pytest.raises(CatalogError) as caught:
        load_catalog(bad)
    assert str(caught.value) == f"{bad}: models[0].deployments[0].provider: unknown provider 'nope'"
