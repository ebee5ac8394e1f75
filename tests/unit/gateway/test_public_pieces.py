"""Error shapes per API, the catalogue, limit overrides, the balances book, request ids and the key-path scrubber."""

from __future__ import annotations

import json
import re
from typing import Any

from tollway.contracts.internal_api import CatalogOut, ModelOut, PricesOut
from tollway.contracts.streams import BalanceValue
from tollway.gateway.api.edge import PATH_KEY, Edge
from tollway.gateway.api.public_errors import error_body
from tollway.gateway.balances import BalanceBook
from tollway.gateway.domain.catalog import Catalogue
from tollway.gateway.domain.ids import new_request_id
from tollway.gateway.domain.ratelimits import LimitOverride, Limits, Periods, Subject
from tollway.gateway.domain.rejections import (
    InsufficientCreditError,
    InvalidApiKeyError,
    ModelNotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
)
from tollway.gateway.limitbook import LimitBook

PRICES = PricesOut(input=1, output=2, cache_read=3, cache_write=4)


def test_openai_errors_have_message_type_param_code() -> None:
    assert json.loads(error_body("openai", ModelNotFoundError("gpt-x"))) == {
        "error": {
            "message": "The model `gpt-x` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }
    assert json.loads(error_body("openai", InsufficientCreditError("no")))["error"]["type"] == "insufficient_quota"
    assert json.loads(error_body("openai", ServiceUnavailableError("later")))["error"]["type"] == "server_error"


def test_anthropic_errors_have_their_own_envelope_and_types() -> None:
    types = {
        error.status: json.loads(error_body("anthropic", error))["error"]["type"]
        for error in (
            InvalidApiKeyError("x"),
            InsufficientCreditError("x"),
            RateLimitedError("x"),
            ServiceUnavailableError("x"),
        )
    }
    assert types == {
        401: "authentication_error",
        402: "billing_error",
        429: "rate_limit_error",
        503: "overloaded_error",
    }
    assert json.loads(error_body("anthropic", InvalidApiKeyError("bad key"))) == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "bad key"},
    }


def test_the_catalogue_finds_ids_and_aliases_and_lists_openai_models() -> None:
    model = ModelOut(id="m-1", aliases=("m",), context_window=10, max_output_tokens=5, prices=PRICES, owned_by="acme")
    catalogue = Catalogue(CatalogOut(models=(model,)))
    assert catalogue.find("m-1") is catalogue.find("m") is model
    assert catalogue.find("m-2") is None
    assert json.loads(catalogue.models_body) == {
        "object": "list",
        "data": [
            {
                "id": "m-1",
                "object": "model",
                "created": 0,
                "owned_by": "acme",
                "context_window": 10,
                "max_output_tokens": 5,
                "pricing": {"input": 1, "output": 2, "cache_read": 3, "cache_write": 4},
            }
        ],
    }


def test_the_limit_book_applies_overrides_over_defaults_and_forgets_deleted_ones() -> None:
    book = LimitBook(defaults=Limits(rpm=60, tpm=1000), anonymous=Limits(rpm=1), periods=Periods())
    book.replace({Subject.USER: {"usr_1": LimitOverride(rpm=5)}, Subject.API_KEY: {"key_1": LimitOverride(tpm=0)}})
    assert book.for_user("usr_1") == Limits(rpm=5, tpm=1000)
    assert book.for_key("key_1") == Limits(rpm=60, tpm=0)
    assert book.for_user("usr_2") == book.for_key("key_2") == Limits(rpm=60, tpm=1000)
    book.apply(Subject.USER, "usr_1", None)
    book.apply(Subject.API_KEY, "key_2", LimitOverride(rpd=3))
    assert book.for_user("usr_1") == Limits(rpm=60, tpm=1000)
    assert book.for_key("key_2") == Limits(rpm=60, tpm=1000, rpd=3)


def test_the_balance_book_never_goes_back_a_version() -> None:
    book = BalanceBook()
    assert book.balance_of("usr_1") == 0  # billing has not published the account yet
    book.apply("usr_1", BalanceValue(500, 3))
    book.apply("usr_1", BalanceValue(900, 2))  # older: a replay after a re-sync
    assert book.balance_of("usr_1") == 500
    book.apply("usr_1", BalanceValue(100, 4))
    assert book.balance_of("usr_1") == 100
    book.forget("usr_1")
    assert book.balance_of("usr_1") == 0


def test_request_ids_are_req_and_24_base62_characters() -> None:
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"req_[0-9A-Za-z]{24}", i) for i in ids)


async def test_the_scrubber_moves_the_key_out_of_the_path() -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(dict(scope))

    scrubber = Edge(app)
    await scrubber({"type": "http", "path": "/ak/tw_secret/v1/chat/completions", "raw_path": b"x"}, None, None)  # type: ignore[arg-type]
    await scrubber({"type": "http", "path": "/v1/models"}, None, None)  # type: ignore[arg-type]
    await scrubber({"type": "http", "path": "/ak/tw_only"}, None, None)  # type: ignore[arg-type]
    assert (seen[0]["path"], seen[0]["raw_path"], seen[0][PATH_KEY]) == (
        "/v1/chat/completions",
        b"/v1/chat/completions",
        "tw_secret",
    )
    assert PATH_KEY not in seen[1]
    assert (seen[2]["path"], seen[2][PATH_KEY]) == ("/", "tw_only")
