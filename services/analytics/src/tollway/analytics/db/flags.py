"""Feature flags in the ``analytics`` schema: listed, and set with an upsert."""

from __future__ import annotations

import msgspec
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.analytics.db.tables import feature_flags
from tollway.analytics.domain.flags import GLOBAL, Flag

_f = feature_flags.c


def _flag(row: object) -> Flag:
    fields = {str(k): v for k, v in row._mapping.items()}  # type: ignore[attr-defined]
    fields["account_id"] = fields["account_id"] or None
    return msgspec.convert(fields, Flag)


class SqlAlchemyFlags:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def all(self, account_id: str | None = None) -> list[Flag]:
        """Every global value, and the overrides of ``account_id`` (of every account when ``None``)."""
        query = select(feature_flags).order_by(_f.name, _f.account_id)
        if account_id is not None:
            query = query.where(_f.account_id.in_([GLOBAL, account_id]))
        async with self._engine.connect() as conn:
            return [_flag(row) for row in (await conn.execute(query)).all()]

    async def set(self, name: str, account_id: str | None, enabled: bool, updated_by: str) -> Flag:
        values = {"name": name, "account_id": account_id or GLOBAL, "enabled": enabled, "updated_by": updated_by}
        stmt = insert(feature_flags).values(values)
        upsert = stmt.on_conflict_do_update(
            index_elements=[_f.name, _f.account_id],
            set_={"enabled": stmt.excluded.enabled, "updated_by": stmt.excluded.updated_by, "updated_at": func.now()},
        ).returning(*feature_flags.c)
        async with self._engine.begin() as conn:
            return _flag((await conn.execute(upsert)).one())
