"""``make run``'s supervisor brings every service and the fake upstream to ready and stops cleanly.

How fast is not asserted here (a loaded CI machine boots it several times slower than an idle one); the banner
prints the boot time, and ``make run`` gives up after its ``--ready-timeout`` (120 s by default).
"""

from __future__ import annotations

import httpx

from tollway.testing.stack import RunningStack


def test_stack_is_ready_with_a_demo_key_and_a_working_curl(stack: RunningStack) -> None:
    assert httpx.get(f"http://127.0.0.1:{8080 + stack.offset}/ready").json()["status"] == "ready"
    banner = stack.log.read_text()
    assert "Tollway is up (" in banner
    assert f"curl -s {stack.base_url}/v1/chat/completions" in banner
    assert stack.api_key.startswith("tw_")
