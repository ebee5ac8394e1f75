"""Analytics settings, loaded once per process from ``ANALYTICS_*`` environment variables."""

from __future__ import annotations

from tollway.platform.settings import InfraSettings, load_settings

ENV_PREFIX = "ANALYTICS_"


class AnalyticsSettings(InfraSettings, frozen=True, kw_only=True):
    port: int = 8083
    # Events per fetched batch: one transaction, one multi-row insert and one rollup upsert per batch.
    consumer_batch_size: int = 1000
    # How long a delivered, unacknowledged batch waits before redelivery (after a worker crash, for instance).
    consumer_ack_wait_s: float = 30.0
    # Pull subscriptions per durable in one worker process (they share the durable's messages).
    consumer_concurrency: int = 2
    # How often ``serve`` recomputes the tollway_api_key_tracking_* gauges (last 24 h, from the rollups).
    tracking_metrics_refresh_s: float = 60.0
    # Providers' admin usage/cost APIs (``POST /admin/v1/provider-usage/import``); an empty key disables a provider.
    anthropic_admin_url: str = "https://api.anthropic.com"
    anthropic_admin_key: str = ""
    openai_admin_url: str = "https://api.openai.com"
    openai_admin_key: str = ""
    # The catalogue's provider ids each admin API's usage is filed under (and the import's ``provider=``): the
    # reconciliation compares it with what Tollway recorded for that provider id.
    anthropic_provider_id: str = "anthropic"
    openai_provider_id: str = "openai"


def load() -> AnalyticsSettings:
    return load_settings(AnalyticsSettings, ENV_PREFIX)
