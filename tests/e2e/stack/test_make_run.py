"""``make run``'s supervisor brings every service and the fake upstream to ready in under 60 s and stops cleanly."""

from __future__ import annotations

import httpx

from tollway.testing.stack import RunningStack


def test_stack_is_ready_within_a_minute_with_a_demo_key_and_a_working_curl(stack: RunningStack) -> None:
    assert stack.ready_after < 60
    assert httpx.get(f"http://127.0.0.1:{8080 + stack.offset}/ready").json()["status"] == "ready"
    banner = stack.log.read_text()
    assert f"curl -s {stack.base_url}/v1/chat/completions" in banner
    assert stack.api_key.startswith("tw_")
