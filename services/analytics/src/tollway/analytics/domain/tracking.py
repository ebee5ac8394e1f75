"""API key tracking quality: how many requests are attributed to a key, and what to do when too few are."""

from __future__ import annotations

from typing import Literal

import msgspec

AlertStatus = Literal["ok", "warning", "critical"]

OK_PERCENT = 90.0  # at or above: ok
WARNING_PERCENT = 70.0  # at or above (and below ok): warning; below: critical
ANONYMOUS_SHARE_PERCENT = 20.0  # a larger anonymous share is worth a look even though it is allowed
DEFAULT_HOURS, MAX_HOURS = 24, 168
DEFAULT_DAYS, MAX_DAYS = 7, 30
ALL_GOOD = "API key tracking quality is good. No action needed."


class TrackingCounts(msgspec.Struct, frozen=True, kw_only=True):
    """Requests by attribution. Anonymous ones are allowed by the operator and never count as a failure."""

    total: int = 0
    with_key: int = 0
    anonymous: int = 0
    user_without_key: int = 0  # a user was known but no key was recorded
    unattributed: int = 0  # neither user nor key, and not marked anonymous

    @property
    def expected(self) -> int:
        """Requests that should carry a key: everything but the deliberate anonymous ones."""
        return self.total - self.anonymous

    @property
    def failures(self) -> dict[str, int]:
        return {"user_without_key": self.user_without_key, "unattributed": self.unattributed}

    def __add__(self, other: TrackingCounts) -> TrackingCounts:
        fields = self.__struct_fields__
        return TrackingCounts(**{name: getattr(self, name) + getattr(other, name) for name in fields})


def counts_of(requests: int, anonymous: int, has_user: bool, has_key: bool) -> TrackingCounts:
    """The counts of one rollup group, keyed by whether it has a user and a key."""
    if has_key:
        return TrackingCounts(total=requests, with_key=requests)
    if has_user:
        return TrackingCounts(total=requests, user_without_key=requests)
    return TrackingCounts(total=requests, anonymous=anonymous, unattributed=requests - anonymous)


def percent(part: int, whole: int) -> float:
    return round(part * 100 / whole, 2) if whole else 0.0


def tracking_rate(counts: TrackingCounts) -> float:
    """Share of the requests that should carry a key and do (100 when there were none to track)."""
    return percent(counts.with_key, counts.expected) if counts.expected else 100.0


def alert_status(rate: float) -> AlertStatus:
    if rate >= OK_PERCENT:
        return "ok"
    return "warning" if rate >= WARNING_PERCENT else "critical"


def recommendations(counts: TrackingCounts) -> list[str]:
    advice = []
    if counts.user_without_key:
        advice.append(
            f"{counts.user_without_key} requests had a user but no API key: check the gateway's identity "
            "signing for routes that authenticate by session rather than by key."
        )
    if counts.unattributed:
        advice.append(
            f"{counts.unattributed} requests had neither user nor key and were not marked anonymous: "
            "the router's usage events are missing the caller's identity."
        )
    if percent(counts.anonymous, counts.total) > ANONYMOUS_SHARE_PERCENT:
        advice.append(
            f"Anonymous requests are {percent(counts.anonymous, counts.total)}% of traffic: review the models "
            "and limits allowed without a key."
        )
    if tracking_rate(counts) < OK_PERCENT and not advice:
        advice.append("The tracking rate is below 90%: investigate why requests arrive without a key.")
    return advice or [ALL_GOOD]
