"""InferenceRouter settings, loaded once per process from ``INFERENCE_ROUTER_*`` environment variables."""

from __future__ import annotations

from tollway.inference_router.catalog_loader import DEFAULT_CATALOG_PATH
from tollway.platform.settings import InfraSettings, load_settings

ENV_PREFIX = "INFERENCE_ROUTER_"


class InferenceRouterSettings(InfraSettings, frozen=True, kw_only=True):
    port: int = 8081
    catalog_path: str = DEFAULT_CATALOG_PATH
    connect_timeout_s: float = 5.0
    first_token_timeout_s: float = 60.0
    total_timeout_s: float = 600.0
    request_deadline_s: float = 0.0  # >0: all attempts of a request share this, split evenly among those left
    max_body_bytes: int = 8 * 1024 * 1024
    breaker_failure_threshold: int = 5
    breaker_rate_limit_threshold: int = 10
    breaker_open_s: float = 30.0
    breaker_half_open_probes: int = 2
    outbox_flush_interval_s: float = 0.005
    usage_ack_timeout_s: float = 0.5  # no PubAck by then: the event goes to the Postgres outbox instead
    catalog_poll_s: float = 2.0  # how soon a replica follows a catalogue refresh made on another one
    usage_buffer_capacity: int = 10_000  # events not yet durable; at this many, /ready fails and calls get 503


def load() -> InferenceRouterSettings:
    return load_settings(InferenceRouterSettings, ENV_PREFIX)
