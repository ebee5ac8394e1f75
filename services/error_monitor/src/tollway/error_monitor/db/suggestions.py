"""Fix suggestions in the ``error_monitor`` schema: stored once per Idempotency-Key, listed per pattern."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.error_monitor.db.tables import fix_suggestions
from tollway.error_monitor.domain.suggestions import FixSuggestion

_S = fix_suggestions.c


def _suggestion(row: Any) -> FixSuggestion:
    return msgspec.convert({str(k): v for k, v in row._mapping.items()}, FixSuggestion)


class SqlAlchemySuggestions:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def by_key(self, idempotency_key: str) -> FixSuggestion | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(fix_suggestions).where(_S.idempotency_key == idempotency_key))).first()
        return None if row is None else _suggestion(row)

    async def add(self, suggestion: FixSuggestion) -> FixSuggestion:
        stmt = insert(fix_suggestions).values(msgspec.structs.asdict(suggestion))
        async with self._engine.begin() as conn:
            inserted = (await conn.execute(stmt.on_conflict_do_nothing().returning(_S.id))).first()
            if inserted is not None or suggestion.idempotency_key is None:
                return suggestion
            winner = select(fix_suggestions).where(_S.idempotency_key == suggestion.idempotency_key)
            return _suggestion((await conn.execute(winner)).one())

    async def for_pattern(self, pattern_id: str, limit: int) -> list[FixSuggestion]:
        query = (
            select(fix_suggestions)
            .where(_S.pattern_id == pattern_id)
            .order_by(_S.created_at.desc(), _S.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [_suggestion(row) for row in (await conn.execute(query)).all()]
