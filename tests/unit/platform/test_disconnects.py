"""A stopped disconnect watch cancels nothing, and one the server never answers is cleaned up later."""

from __future__ import annotations

import asyncio

from tollway.platform.disconnects import DisconnectWatch


async def test_a_disconnect_after_stop_is_the_servers_notice_not_a_client_leaving() -> None:
    complete = asyncio.Event()

    async def receive() -> dict[str, object]:
        await complete.wait()
        return {"type": "http.disconnect"}

    watch = DisconnectWatch(receive)
    watch.stop()
    complete.set()
    await asyncio.sleep(0.01)
    assert not watch.disconnected
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_watcher_the_server_never_answers_is_cancelled_after_its_grace() -> None:
    async def receive() -> dict[str, object]:
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    before = len(asyncio.all_tasks())
    watch = DisconnectWatch(receive, straggler_s=0.05)
    watch.stop()
    assert len(asyncio.all_tasks()) == before + 1
    await asyncio.sleep(0.2)
    assert len(asyncio.all_tasks()) == before
