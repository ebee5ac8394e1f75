"""Outside ``TOLLWAY_ENV=development`` a service refuses the repository's development secrets, in one clear line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tollway.testing.infra import SERVICES


def _start(service: str, **changes: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TOLLWAY_ENV"} | changes
    argv = [sys.executable, "-m", f"tollway.{service}", "serve"]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_refuses_the_development_internal_secret(service: str) -> None:
    refused = _start(service)
    assert refused.returncode == 2
    assert f"{service.upper()}_INTERNAL_SECRET is the development default" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_the_gateway_also_refuses_the_development_key_pepper() -> None:
    refused = _start("gateway", GATEWAY_INTERNAL_SECRET="a-real-secret")
    assert refused.returncode == 2
    assert "GATEWAY_KEY_PEPPER is the development default" in refused.stderr
