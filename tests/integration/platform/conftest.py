"""A consumer with an inbox and a countable effect, used to prove exactly-once processing."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.testing.exactly_once import EffectRecorder, create_effects_table


@pytest.fixture
async def effects(engine: AsyncEngine) -> EffectRecorder:
    await create_effects_table(engine)
    return EffectRecorder(engine, "test_consumer")
