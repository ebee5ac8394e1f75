"""nats-py's ``next_msg`` answered straight from the pending queue when a message is already waiting there."""

from __future__ import annotations

from functools import partial
from typing import Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext


def queued_first(pull: JetStreamContext.PullSubscription) -> JetStreamContext.PullSubscription:
    """Make ``pull.fetch`` take waiting messages without nats-py's per-message task, uuid4 and ``wait_for``.

    ``fetch`` reads a batch one ``next_msg`` at a time, and each one costs ~60 µs of CPU here against ~10 µs for
    a plain queue read (nats.py #862 speeds up the iterators, not this path): at 10,000 usage events a second
    that was most of a core per consumer. Only an instance attribute changes; an empty queue still takes
    nats-py's own path, with its timeout and its cancellation bookkeeping.
    """
    sub: Subscription = pull._sub
    sub.next_msg = partial(_next_msg, sub, sub.next_msg)  # type: ignore[method-assign]
    return pull


async def _next_msg(sub: Subscription, original: Any, timeout: float | None = 1.0) -> Msg:  # noqa: ASYNC109 (nats-py's signature)
    queue = sub._pending_queue
    if queue.empty() or sub._conn.is_closed:
        msg: Msg = await original(timeout=timeout)
        return msg
    msg = queue.get_nowait()
    sub._pending_size -= len(msg.data)  # the accounting nats-py's next_msg does after its own get
    queue.task_done()
    return msg
