"""``python -m tollway.analytics import-usage``: one import of every configured provider, from its cursor (cron)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import msgspec

from tollway.analytics import handlers
from tollway.analytics.bootstrap import usage_importers
from tollway.analytics.db.provider_usage import SqlAlchemyProviderUsage
from tollway.analytics.domain.provider_usage import ImportResult
from tollway.analytics.provider_usage_importers import ProviderUsageError
from tollway.analytics.settings import AnalyticsSettings, load
from tollway.platform.db import make_engine
from tollway.platform.runner import start_process

log = logging.getLogger(__name__)


async def import_all(settings: AnalyticsSettings) -> list[ImportResult]:
    """Each provider with an admin key, from its cursor through yesterday (UTC); a failing provider is skipped."""
    engine = make_engine(settings.database_url, pool_size=2, application_name="analytics-import-usage")
    store = SqlAlchemyProviderUsage(engine)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    results = []
    try:
        for importer in usage_importers(settings).all():
            try:
                results.append(await handlers.import_provider_usage(importer, store, None, yesterday))
            except ProviderUsageError as exc:
                log.warning("provider usage import failed", extra={"provider": exc.provider, "status": exc.status})
    finally:
        await engine.dispose()
    return results


def import_usage_role(args: Sequence[str]) -> None:
    settings = load()
    start_process("analytics", settings)
    for result in asyncio.run(import_all(settings)):
        print(msgspec.json.encode(result).decode())  # noqa: T201 - the role's output, for the cron's log
