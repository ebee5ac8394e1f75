"""The one place that builds billing's concrete objects (ledger, reads, balances sink, policy) per process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from litestar import Litestar

from tollway.billing.balances import KvBalances
from tollway.billing.db.audit_trail import SqlAlchemyAuditTrail
from tollway.billing.db.coupons import SqlAlchemyCoupons
from tollway.billing.db.reports import SqlAlchemyReports
from tollway.billing.db.repositories import SqlAlchemyLedger
from tollway.billing.domain.policy import BillingPolicy
from tollway.billing.ports import BalanceSink, Clock
from tollway.billing.settings import BillingSettings
from tollway.contracts import utc_now
from tollway.platform.infra import Infra


@dataclass(frozen=True)
class BillingServices:
    """What controllers, consumers and jobs need, built once per process from its infra."""

    ledger: SqlAlchemyLedger
    balances: BalanceSink
    policy: BillingPolicy
    coupons: SqlAlchemyCoupons
    reports: SqlAlchemyReports
    audit_trail: SqlAlchemyAuditTrail
    clock: Clock = utc_now


def policy_of(settings: BillingSettings) -> BillingPolicy:
    return BillingPolicy(
        trial_micros=settings.trial_micros,
        trial_days=settings.trial_days,
        low_balance_micros=settings.low_balance_micros,
        overspend_bound_micros=settings.overspend_bound_micros,
        max_grant_micros=settings.max_grant_micros,
        admin_daily_limit_micros=settings.admin_daily_limit_micros,
    )


def build_services(infra: Infra, settings: BillingSettings, balances: BalanceSink | None = None) -> BillingServices:
    engine = infra.require_engine()
    return BillingServices(
        ledger=SqlAlchemyLedger(engine),
        balances=balances or KvBalances(infra.js, infra.ns),
        policy=policy_of(settings),
        coupons=SqlAlchemyCoupons(engine),
        reports=SqlAlchemyReports(engine),
        audit_trail=SqlAlchemyAuditTrail(engine),
    )


def on_startup(settings: BillingSettings) -> Callable[[Litestar], None]:
    """The HTTP app's startup hook: runs after the platform lifespan opened ``app.state.infra``."""

    def start(app: Litestar) -> None:
        app.state.billing = build_services(app.state.infra, settings)

    return start
