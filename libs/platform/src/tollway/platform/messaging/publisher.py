"""Publishing events to JetStream with ``Nats-Msg-Id`` (publish-side dedupe) and trace context."""

from __future__ import annotations

from collections.abc import Mapping

from nats.js import JetStreamContext, api

from tollway.contracts import MSG_ID_HEADER, Event, encode, subject_of
from tollway.platform.messaging.namespace import Namespace
from tollway.platform.telemetry import inject_trace_context


class JetStreamPublisher:
    """Publishes one message and waits for its PubAck; raises on timeout or error (callers retry with the same id)."""

    def __init__(self, js: JetStreamContext, ns: Namespace, timeout_s: float = 5.0) -> None:
        self._js = js
        self._ns = ns
        self._timeout_s = timeout_s

    async def publish_raw(
        self, subject: str, payload: bytes, msg_id: str, headers: Mapping[str, str] | None = None
    ) -> api.PubAck:
        """Publish bytes on a logical (unprefixed) subject."""
        all_headers = {**(headers or {}), MSG_ID_HEADER: msg_id}
        return await self._js.publish(self._ns.subject(subject), payload, timeout=self._timeout_s, headers=all_headers)

    async def publish(self, event: Event, subject: str | None = None) -> api.PubAck:
        """Publish an event on its own subject (or ``subject``), with the current trace context."""
        headers = dict(inject_trace_context({}))
        return await self.publish_raw(subject or subject_of(event), encode(event), event.event_id, headers)
