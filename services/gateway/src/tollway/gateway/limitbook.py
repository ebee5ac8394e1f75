"""Each replica's rate-limit overrides: the whole (small) table reloaded every few seconds, never per request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from tollway.gateway.domain.ratelimits import LimitOverride, Limits, Periods, Subject
from tollway.gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

OverrideTable = dict[Subject, dict[str, LimitOverride]]
OverrideLoader = Callable[[], Awaitable[OverrideTable]]


class LimitBook:
    """Effective limits per key and per user: the stored override over the configured defaults."""

    def __init__(self, *, defaults: Limits, anonymous: Limits, periods: Periods) -> None:
        self.defaults = defaults
        self.anonymous = anonymous
        self.periods = periods
        self._overrides: OverrideTable = {Subject.USER: {}, Subject.API_KEY: {}}
        self._effective: dict[tuple[Subject, str], Limits] = {}

    def for_key(self, api_key_id: str) -> Limits:
        return self._limits(Subject.API_KEY, api_key_id)

    def for_user(self, user_id: str) -> Limits:
        return self._limits(Subject.USER, user_id)

    def replace(self, table: OverrideTable) -> None:
        """Swap in a freshly loaded table (whole, so deleted overrides disappear too)."""
        self._overrides = table
        self._effective = {}

    def apply(self, subject: Subject, subject_id: str, override: LimitOverride | None) -> None:
        """A change made through this replica counts at once; the others see it at their next reload."""
        table = {kind: dict(entries) for kind, entries in self._overrides.items()}
        if override is None:
            table[subject].pop(subject_id, None)
        else:
            table[subject][subject_id] = override
        self.replace(table)

    def _limits(self, subject: Subject, subject_id: str) -> Limits:
        override = self._overrides[subject].get(subject_id)
        if override is None:
            return self.defaults
        effective = self._effective.get((subject, subject_id))
        if effective is None:
            effective = self._effective[(subject, subject_id)] = override.over(self.defaults)
        return effective


def default_limits(settings: GatewaySettings) -> Limits:
    """The limits of a key or user without an override: its tier's, each replaced by the deployment's when set."""
    if settings.limit_tier not in ("trial", "paid"):
        raise ValueError(f"GATEWAY_LIMIT_TIER must be trial or paid, not {settings.limit_tier!r}")
    paid = settings.limit_tier == "paid"
    tier = (
        Limits(rpm=settings.paid_rpm, tpm=settings.paid_tpm, rpd=settings.paid_rpd)
        if paid
        else Limits(rpm=settings.trial_rpm, tpm=settings.trial_tpm, rpd=settings.trial_rpd)
    )
    return Limits(
        rpm=tier.rpm if settings.rpm is None else settings.rpm,
        tpm=tier.tpm if settings.tpm is None else settings.tpm,
        rpd=tier.rpd if settings.rpd is None else settings.rpd,
    )


async def keep_loaded(book: LimitBook, load: OverrideLoader, interval_s: float, stop: asyncio.Event) -> None:
    """Reload the overrides every ``interval_s``; a failed load keeps the previous table."""
    while not stop.is_set():
        try:
            book.replace(await load())
        except Exception as exc:
            log.warning("could not reload rate-limit overrides (%s); keeping the previous ones", type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
