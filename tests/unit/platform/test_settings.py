"""Settings come from prefixed env vars, typed, with errors naming the variable to fix."""

from __future__ import annotations

import pytest

from tollway.platform.settings import InfraSettings, SettingsError, load_settings


class DemoSettings(InfraSettings, frozen=True, kw_only=True):
    api_secret: str
    enabled: bool = False
    ratio: float = 0.5


DEV = {"TOLLWAY_ENV": "development"}


def test_values_are_coerced_from_strings() -> None:
    settings = load_settings(
        DemoSettings,
        "DEMO_",
        {**DEV, "DEMO_API_SECRET": "s", "DEMO_PORT": "9000", "DEMO_ENABLED": "true", "DEMO_RATIO": "0.25"},
    )
    assert (settings.port, settings.enabled, settings.ratio) == (9000, True, 0.25)


def test_other_prefixes_are_ignored() -> None:
    settings = load_settings(DemoSettings, "DEMO_", {**DEV, "DEMO_API_SECRET": "s", "OTHER_PORT": "1"})
    assert settings.port == InfraSettings().port


def test_missing_variable_is_named() -> None:
    with pytest.raises(SettingsError, match="DEMO_API_SECRET is required"):
        load_settings(DemoSettings, "DEMO_", DEV)


def test_malformed_variable_is_named() -> None:
    with pytest.raises(SettingsError, match="DEMO_PORT is malformed"):
        load_settings(DemoSettings, "DEMO_", {**DEV, "DEMO_API_SECRET": "s", "DEMO_PORT": "eighty"})


def test_settings_are_frozen() -> None:
    settings = load_settings(DemoSettings, "DEMO_", {**DEV, "DEMO_API_SECRET": "s"})
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


class PepperedSettings(InfraSettings, frozen=True, kw_only=True):
    development_secrets = ("internal_secret", "pepper")
    pepper: str = "dev-pepper-change-me"


def test_a_development_secret_is_refused_outside_development() -> None:
    with pytest.raises(SettingsError, match="DEMO_INTERNAL_SECRET is the development default"):
        load_settings(PepperedSettings, "DEMO_", {"DEMO_PEPPER": "real-pepper"})
    with pytest.raises(SettingsError, match="DEMO_PEPPER is the development default"):
        load_settings(PepperedSettings, "DEMO_", {"TOLLWAY_ENV": "production", "DEMO_INTERNAL_SECRET": "real"})


def test_real_secrets_or_the_development_environment_are_accepted() -> None:
    real = load_settings(PepperedSettings, "DEMO_", {"DEMO_INTERNAL_SECRET": "s1", "DEMO_PEPPER": "p1"})
    development = load_settings(PepperedSettings, "DEMO_", DEV)
    assert (real.internal_secret, real.pepper) == ("s1", "p1")
    assert development.pepper == "dev-pepper-change-me"
