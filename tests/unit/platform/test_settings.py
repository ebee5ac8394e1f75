"""Settings come from prefixed env vars, typed, with errors naming the variable to fix."""

from __future__ import annotations

import pytest

from tollway.platform.settings import InfraSettings, SettingsError, load_settings


class DemoSettings(InfraSettings, frozen=True, kw_only=True):
    api_secret: str
    enabled: bool = False
    ratio: float = 0.5


def test_values_are_coerced_from_strings() -> None:
    settings = load_settings(
        DemoSettings,
        "DEMO_",
        {"DEMO_API_SECRET": "s", "DEMO_PORT": "9000", "DEMO_ENABLED": "true", "DEMO_RATIO": "0.25"},
    )
    assert (settings.port, settings.enabled, settings.ratio) == (9000, True, 0.25)


def test_other_prefixes_are_ignored() -> None:
    settings = load_settings(DemoSettings, "DEMO_", {"DEMO_API_SECRET": "s", "OTHER_PORT": "1"})
    assert settings.port == InfraSettings().port


def test_missing_variable_is_named() -> None:
    with pytest.raises(SettingsError, match="DEMO_API_SECRET is required"):
        load_settings(DemoSettings, "DEMO_", {})


def test_malformed_variable_is_named() -> None:
    with pytest.raises(SettingsError, match="DEMO_PORT is malformed"):
        load_settings(DemoSettings, "DEMO_", {"DEMO_API_SECRET": "s", "DEMO_PORT": "eighty"})


def test_settings_are_frozen() -> None:
    settings = load_settings(DemoSettings, "DEMO_", {"DEMO_API_SECRET": "s"})
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
