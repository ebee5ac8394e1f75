"""The ``verify`` role: check every ledger invariant, print the report, exit non-zero when one fails."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from tollway.billing import handlers
from tollway.billing.bootstrap import policy_of
from tollway.billing.db.repositories import SqlAlchemyLedger
from tollway.billing.domain.audit import AuditReport
from tollway.billing.settings import BillingSettings, load
from tollway.platform.db import make_engine


def verify_role(args: Sequence[str]) -> None:
    report = asyncio.run(audit(load()))
    sys.stdout.write(report.render() + "\n")
    sys.stdout.flush()
    raise SystemExit(0 if report.passed else 1)


async def audit(settings: BillingSettings) -> AuditReport:
    engine = make_engine(settings.database_url, pool_size=1, application_name="billing-verify")
    try:
        return await handlers.verify_ledger(SqlAlchemyLedger(engine), policy_of(settings))
    finally:
        await engine.dispose()
