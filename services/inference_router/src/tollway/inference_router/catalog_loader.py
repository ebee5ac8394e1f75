"""Reads the catalogue YAML file (providers, models, prices) into the validated ``Catalog``."""

from __future__ import annotations

from pathlib import Path

from tollway.inference_router.domain.catalog import Catalog, parse_catalog
from tollway.inference_router.domain.errors import CatalogError

DEFAULT_CATALOG_PATH = "deploy/config/catalog.yaml"


def load_catalog(path: str | Path = DEFAULT_CATALOG_PATH) -> Catalog:
    """Load once at startup; a missing or invalid file raises ``CatalogError`` naming the file and the bad entry."""
    file = Path(path)
    try:
        text = file.read_bytes()
    except OSError as error:
        raise CatalogError(f"{file}: cannot read the catalogue: {error.strerror}") from None
    try:
        return parse_catalog(text)
    except CatalogError as error:
        raise CatalogError(f"{file}: {error}") from None
