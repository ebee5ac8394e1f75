"""Every key has limits by default: its deployment tier's, each dimension replaced by GATEWAY_RPM/TPM/RPD when set."""

from __future__ import annotations

import pytest

from tollway.gateway.domain.ratelimits import Limits
from tollway.gateway.limitbook import default_limits
from tollway.gateway.settings import GatewaySettings
from tollway.platform.settings import load_settings

DEV = {"TOLLWAY_ENV": "development"}


def _limits(**env: str) -> Limits:
    return default_limits(load_settings(GatewaySettings, "GATEWAY_", {**DEV, **env}))


def test_an_unconfigured_deployment_limits_every_key_at_the_trial_defaults() -> None:
    assert _limits() == Limits(rpm=3_000, tpm=10_000_000, rpd=200_000)


def test_the_paid_tier_and_a_deployment_value_per_dimension() -> None:
    assert _limits(GATEWAY_LIMIT_TIER="paid", GATEWAY_RPM="7") == Limits(rpm=7, tpm=50_000_000, rpd=0)
    assert _limits(GATEWAY_TRIAL_TPM="5") == Limits(rpm=3_000, tpm=5, rpd=200_000)


def test_zero_still_means_unlimited() -> None:
    assert _limits(GATEWAY_RPM="0", GATEWAY_TPM="0", GATEWAY_RPD="0") == Limits()


def test_an_unknown_tier_is_refused() -> None:
    with pytest.raises(ValueError, match="LIMIT_TIER"):
        _limits(GATEWAY_LIMIT_TIER="gold")
