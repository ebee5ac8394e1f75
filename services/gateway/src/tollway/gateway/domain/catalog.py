"""The router's model catalogue as the gateway uses it: lookup by id or alias, and the ``/v1/models`` bodies."""

from __future__ import annotations

import msgspec

from tollway.contracts.internal_api import CatalogOut, ModelOut, PricesOut

_encoder = msgspec.json.Encoder()


class ModelListItem(msgspec.Struct, frozen=True, kw_only=True):
    """OpenAI's model object plus what clients need to budget: limits and prices (micro-USD per 1M tokens)."""

    id: str
    object: str = "model"
    created: int = 0  # the catalogue has no creation dates; OpenAI's SDKs only need an integer
    owned_by: str
    context_window: int
    max_output_tokens: int
    pricing: PricesOut


class Catalogue:
    """Immutable snapshot of one catalogue document; a refresh builds a new one and swaps it in."""

    def __init__(self, document: CatalogOut) -> None:
        self.document = document
        self._by_name: dict[str, ModelOut] = {}
        for model in document.models:
            for name in (model.id, *model.aliases):
                self._by_name.setdefault(name, model)
        self.models_body = _encoder.encode({"object": "list", "data": [_item(m) for m in document.models]})

    def find(self, name: str) -> ModelOut | None:
        return self._by_name.get(name)

    def __len__(self) -> int:
        return len(self.document.models)


def _item(model: ModelOut) -> ModelListItem:
    return ModelListItem(
        id=model.id,
        owned_by=model.owned_by,
        context_window=model.context_window,
        max_output_tokens=model.max_output_tokens,
        pricing=model.prices,
    )
