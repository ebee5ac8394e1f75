"""A supervised JetStream pull consumer: batch fetch, typed decode, handle, ack after commit, nak, term poison."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from typing import Any, Generic, NamedTuple, TypeVar

import msgspec
import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from opentelemetry import trace

from tollway.contracts import StreamSpec, decoder_for
from tollway.platform.messaging.connection import ensure_stream
from tollway.platform.messaging.namespace import Namespace
from tollway.platform.messaging.queued_first import queued_first
from tollway.platform.telemetry import extract_trace_context

E = TypeVar("E")
log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)


# The linger of the consumers of every request's usage event. Each transaction's fixed cost (its statements'
# round trips, the commit's WAL flush) is paid per batch, so at a few hundred requests a second the batch size is
# what the consumers and Postgres cost: at 64 connections here 50 ms batches took ~0.7 of a core between the
# three consumers and Postgres, 200 ms batches ~0.3, and chat served 293 -> 385-420 req/s. 200 ms of added lag
# stays well inside the 1 s target; a backlog or 10,000 events/s fills whole batches and never waits.
USAGE_LINGER_S = 0.2


class ConsumerSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One durable pull consumer of one subject filter (logical, unprefixed)."""

    stream: StreamSpec
    durable: str
    filter_subject: str
    batch_size: int = 256
    fetch_timeout_s: float = 1.0
    ack_wait_s: float = 30.0
    max_deliver: int = 20
    max_ack_pending: int = 20_000
    retry_delay_s: float = 1.0
    # Resubscribing on every reconnect strands messages routed to the old pull request until ack_wait; instead,
    # a subscription that stays empty while the consumer reports pending messages is replaced (nats.py #504).
    stall_check_fetches: int = 20
    # A fetch returns as soon as one message is there, so a trickle of events is handled one transaction each,
    # and that fixed cost dominates at low rates. A batch smaller than ``linger_below`` waits ``linger_s`` and is
    # topped up once before it is handled: fewer, larger transactions for at most ``linger_s`` of extra lag.
    linger_s: float = 0.0
    linger_below: int = 64


class PoisonMessage(NamedTuple):
    """A message that will never be processed: undecodable, or failing on every delivery."""

    consumer: str
    subject: str
    stream_sequence: int | None
    payload: bytes
    error: str


BatchHandler = Callable[[Sequence[E]], Awaitable[None]]
PoisonHandler = Callable[[PoisonMessage], Awaitable[None]]


class PullConsumer(Generic[E]):
    """Runs one consumer until stopped; services never touch ``ack``/``nak``/``term`` themselves.

    The handler receives a batch of decoded events and must commit its effects (with the inbox) before returning;
    the batch is acked only then. When a batch fails, its events are retried one by one so a single bad event
    cannot hold the others back; an event failing ``max_deliver`` times is handed to ``on_poison`` and terminated.
    """

    def __init__(
        self,
        nc: NatsClient,
        spec: ConsumerSpec,
        event_type: Any,
        handler: BatchHandler[E],
        *,
        on_poison: PoisonHandler,
        ns: Namespace,
    ) -> None:
        self._nc = nc
        self._spec = spec
        self._decoder: msgspec.json.Decoder[E] = decoder_for(event_type)
        self._handler = handler
        self._on_poison = on_poison
        self._ns = ns
        self._backoff = 0.2
        self._empty_fetches = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, re-subscribing after NATS restarts or errors."""
        self._backoff = 0.2
        while not stop.is_set():
            try:
                await self._consume(stop)
            except Exception as exc:
                log.warning("consumer %s: %s; re-subscribing in %.1fs", self._spec.durable, exc, self._backoff)
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self._backoff)
                self._backoff = min(self._backoff * 2, 5.0)

    async def _consume(self, stop: asyncio.Event) -> None:
        js = self._nc.jetstream()
        sub = await self._subscribe(js)
        self._backoff = 0.2  # subscribed again: the next failure starts its back-off afresh
        self._empty_fetches = 0
        # The next batch is fetched while this one is handled, so the fetch's round trip and decoding overlap the
        # handler's database time instead of adding to it. Batches are still handled one at a time, in order.
        ahead = asyncio.ensure_future(self._next_batch(sub, stop))
        try:
            while not stop.is_set():
                msgs = await ahead
                if msgs is None:
                    return
                ahead = asyncio.ensure_future(self._next_batch(sub, stop))
                if msgs:
                    await self.process(msgs)
        finally:
            await _hand_back(ahead)
            with suppress(Exception):
                await sub.unsubscribe()

    async def _next_batch(self, sub: JetStreamContext.PullSubscription, stop: asyncio.Event) -> list[Msg] | None:
        """One fetch, topped up when small; ``[]`` when it came back empty, ``None`` when the pull looks stalled."""
        try:
            msgs = await sub.fetch(self._spec.batch_size, timeout=self._spec.fetch_timeout_s)
        except (nats.errors.TimeoutError, TimeoutError):
            # nats-py sometimes lets a plain asyncio timeout out of fetch: it is an empty fetch all the same.
            self._empty_fetches += 1
            if self._empty_fetches % self._spec.stall_check_fetches == 0 and await _stalled(sub):
                log.warning("consumer %s: pending messages but none delivered; re-subscribing", self._spec.durable)
                return None
            return []
        self._empty_fetches = 0
        if self._spec.linger_s and len(msgs) < min(self._spec.linger_below, self._spec.batch_size):
            msgs = [*msgs, *await self._top_up(sub, stop, self._spec.batch_size - len(msgs))]
        return msgs

    async def _top_up(self, sub: JetStreamContext.PullSubscription, stop: asyncio.Event, room: int) -> list[Msg]:
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=self._spec.linger_s)
        if stop.is_set():
            return []
        try:
            return await sub.fetch(room, timeout=0.05)  # what arrived meanwhile is there at once
        except (nats.errors.TimeoutError, TimeoutError):
            return []

    async def _subscribe(self, js: JetStreamContext) -> JetStreamContext.PullSubscription:
        spec, ns = self._spec, self._ns
        await ensure_stream(js, spec.stream, ns)
        config = api.ConsumerConfig(
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=spec.ack_wait_s,
            max_deliver=spec.max_deliver,
            max_ack_pending=spec.max_ack_pending,
        )
        pull = await js.pull_subscribe(
            ns.subject(spec.filter_subject),
            durable=ns.durable(spec.durable),
            stream=ns.stream(spec.stream.name),
            config=config,
        )
        return queued_first(pull)

    async def process(self, msgs: Sequence[Msg]) -> None:
        """Decode, handle and settle one fetched batch."""
        decoded: list[tuple[Msg, E]] = []
        for msg in msgs:
            try:
                decoded.append((msg, self._decoder.decode(msg.data)))
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                await self._poison(msg, f"undecodable: {exc}")
        if not decoded:
            return
        links = [trace.Link(span.get_span_context()) for span in self._parents(decoded)]
        with tracer.start_as_current_span(f"consume {self._spec.durable}", links=links) as span:
            span.set_attribute("messaging.batch.message_count", len(decoded))
            try:
                await self._handler([event for _, event in decoded])
            except Exception as exc:
                log.warning(
                    "consumer %s: batch of %d failed (%s); retrying singly", self._spec.durable, len(decoded), exc
                )
                await self._one_by_one(decoded)
                return
        for msg, _ in decoded:
            await msg.ack()  # a buffered publish each: sequential beats a task per ack

    def _parents(self, decoded: list[tuple[Msg, E]]) -> list[trace.Span]:
        parents = []
        for msg, _ in decoded[:32]:
            span = trace.get_current_span(extract_trace_context(msg.headers))
            if span.get_span_context().is_valid:
                parents.append(span)
        return parents

    async def _one_by_one(self, decoded: list[tuple[Msg, E]]) -> None:
        for msg, event in decoded:
            try:
                await self._handler([event])
            except Exception as exc:
                if _deliveries(msg) >= self._spec.max_deliver:
                    await self._poison(msg, f"failed {_deliveries(msg)} times: {type(exc).__name__}: {exc}")
                else:
                    await msg.nak(delay=self._spec.retry_delay_s)
            else:
                await msg.ack()

    async def _poison(self, msg: Msg, error: str) -> None:
        poison = PoisonMessage(self._spec.durable, self._ns.unprefixed(msg.subject), _sequence(msg), msg.data, error)
        try:
            await self._on_poison(poison)
        except Exception:
            # Not recorded, so not terminated: it comes back after the delay instead of being lost.
            log.exception("consumer %s: could not record poison message", self._spec.durable)
            await msg.nak(delay=self._spec.retry_delay_s)
            return
        await msg.term()


async def _hand_back(ahead: asyncio.Future[list[Msg] | None]) -> None:
    """Stopping: a batch fetched ahead goes back at once (a nak) rather than waiting out its ``ack_wait``."""
    if not ahead.done():
        ahead.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await ahead
        return
    if ahead.cancelled() or ahead.exception() is not None:
        return
    for msg in ahead.result() or ():
        with suppress(Exception):
            await msg.nak()


async def _stalled(sub: JetStreamContext.PullSubscription) -> bool:
    try:
        info = await sub.consumer_info()
    except Exception:
        return True
    return bool(info.num_pending)


def _deliveries(msg: Msg) -> int:
    try:
        return int(msg.metadata.num_delivered)
    except Exception:
        return 1


def _sequence(msg: Msg) -> int | None:
    try:
        return int(msg.metadata.sequence.stream)
    except Exception:
        return None
