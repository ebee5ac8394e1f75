"""The router abandons the work of a request whose client left, in the request's own task."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tollway.inference_router.api.chat import _until_disconnect


def receive_after(delay_s: float) -> Any:
    async def receive() -> dict[str, object]:
        await asyncio.sleep(delay_s)
        return {"type": "http.disconnect"}

    return receive


async def test_finished_work_is_the_answer_and_the_servers_closing_disconnect_cancels_nothing() -> None:
    complete = asyncio.Event()

    async def receive() -> Any:  # an ASGI server: http.disconnect once the response is complete
        await complete.wait()
        return {"type": "http.disconnect"}

    async def work() -> str:
        return "answer"

    before = len(asyncio.all_tasks())
    assert await _until_disconnect(receive, work()) == "answer"
    complete.set()
    await asyncio.sleep(0.01)
    assert len(asyncio.all_tasks()) == before  # the watcher ended by itself
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_client_that_leaves_cancels_the_work_at_once() -> None:
    cleaned = asyncio.Event()

    async def work() -> str:
        try:
            await asyncio.sleep(60)
        finally:
            cleaned.set()  # the upstream call is closed here in the real work
        return "too late"

    answer = await asyncio.wait_for(_until_disconnect(receive_after(0.05), work()), timeout=5)
    assert answer is None
    assert cleaned.is_set()
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_cancellation_from_elsewhere_still_propagates() -> None:
    async def work() -> str:
        await asyncio.sleep(60)
        return "never"

    task = asyncio.ensure_future(_until_disconnect(receive_after(60), work()))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
