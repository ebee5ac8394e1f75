"""HTTP schemas of tracking quality: the share of requests with an API key, its trend and thresholds."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

import msgspec

from tollway.analytics.domain import tracking
from tollway.analytics.domain.queries import UsageFilters
from tollway.analytics.domain.rollups import hour_of
from tollway.analytics.domain.tracking import TrackingCounts

RequestStatus = Literal["ok", "cancelled", "failed"]
_WINDOW = re.compile(r"^(\d{1,4})([hd])$")


class TrackingQualityIn(msgspec.Struct, frozen=True, kw_only=True):
    hours: Annotated[int, msgspec.Meta(ge=1, le=tracking.MAX_HOURS)] = tracking.DEFAULT_HOURS

    def filters(self, now: datetime) -> UsageFilters:
        """The last ``hours`` whole UTC hours, the current one included (rollups are hourly)."""
        end = hour_of(now) + timedelta(hours=1)
        return UsageFilters(start=end - timedelta(hours=self.hours), end=end)


class TrackingTrendIn(msgspec.Struct, frozen=True, kw_only=True):
    days: Annotated[int, msgspec.Meta(ge=1, le=tracking.MAX_DAYS)] = tracking.DEFAULT_DAYS

    def filters(self, now: datetime) -> UsageFilters:
        end = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
        return UsageFilters(start=end - timedelta(days=self.days), end=end)


class TrackingBreakdownOut(msgspec.Struct, frozen=True, kw_only=True):
    user_without_key: int
    unattributed: int
    anonymous: int
    user_without_key_percent: float
    unattributed_percent: float
    anonymous_percent: float


class ThresholdsOut(msgspec.Struct, frozen=True, kw_only=True):
    ok_percent: float = tracking.OK_PERCENT
    warning_percent: float = tracking.WARNING_PERCENT
    anonymous_share_percent: float = tracking.ANONYMOUS_SHARE_PERCENT


class TrackingQualityOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "tracking.quality"
    hours: int
    since: datetime
    until: datetime
    total_requests: int
    requests_with_api_key: int
    requests_without_api_key: int
    anonymous_requests: int
    tracking_rate_percent: float
    breakdown: TrackingBreakdownOut
    failures_by_reason: dict[str, int]
    thresholds: ThresholdsOut
    alert_status: tracking.AlertStatus
    recommendations: list[str]

    @classmethod
    def of(cls, hours: int, filters: UsageFilters, counts: TrackingCounts) -> TrackingQualityOut:
        rate = tracking.tracking_rate(counts)
        share = {
            f"{name}_percent": tracking.percent(getattr(counts, name), counts.total)
            for name in ("user_without_key", "unattributed", "anonymous")
        }
        breakdown = TrackingBreakdownOut(
            user_without_key=counts.user_without_key,
            unattributed=counts.unattributed,
            anonymous=counts.anonymous,
            **share,
        )
        return cls(
            hours=hours,
            since=filters.start,
            until=filters.end,
            total_requests=counts.total,
            requests_with_api_key=counts.with_key,
            requests_without_api_key=counts.total - counts.with_key,
            anonymous_requests=counts.anonymous,
            tracking_rate_percent=rate,
            breakdown=breakdown,
            failures_by_reason=counts.failures,
            thresholds=ThresholdsOut(),
            alert_status=tracking.alert_status(rate),
            recommendations=tracking.recommendations(counts),
        )


class TrendDayOut(msgspec.Struct, frozen=True, kw_only=True):
    date: date
    total_requests: int
    requests_with_api_key: int
    anonymous_requests: int
    tracking_rate_percent: float
    alert_status: tracking.AlertStatus


class TrendSummaryOut(msgspec.Struct, frozen=True, kw_only=True):
    period_days: int
    start_date: date
    end_date: date
    total_requests: int
    requests_with_api_key: int
    anonymous_requests: int
    tracking_rate_percent: float
    average_tracking_rate_percent: float


class TrackingTrendOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "tracking.trend"
    days: int
    data: list[TrendDayOut]
    summary: TrendSummaryOut

    @classmethod
    def of(cls, days: int, trend: list[tuple[datetime, TrackingCounts]]) -> TrackingTrendOut:
        data = [
            TrendDayOut(
                date=day.date(),
                total_requests=counts.total,
                requests_with_api_key=counts.with_key,
                anonymous_requests=counts.anonymous,
                tracking_rate_percent=tracking.tracking_rate(counts),
                alert_status=tracking.alert_status(tracking.tracking_rate(counts)),
            )
            for day, counts in trend
        ]
        total = sum((counts for _, counts in trend), TrackingCounts())
        rates = [d.tracking_rate_percent for d in data if d.total_requests]
        summary = TrendSummaryOut(
            period_days=days,
            start_date=data[0].date,
            end_date=data[-1].date,
            total_requests=total.total,
            requests_with_api_key=total.with_key,
            anonymous_requests=total.anonymous,
            tracking_rate_percent=tracking.tracking_rate(total),
            average_tracking_rate_percent=round(sum(rates) / len(rates), 2) if rates else 100.0,
        )
        return cls(days=days, data=data, summary=summary)
