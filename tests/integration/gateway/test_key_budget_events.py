"""A key's spend limits reach billing: the key API stages ``gateway.api_key.budget_changed.v1`` with each change."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.gateway.conftest import Client
from tests.integration.gateway.test_accounts_api import bearer, login, register
from tollway.contracts import ApiKeyBudgetChangedV1, decode

STAGED = "SELECT payload FROM gateway.outbox WHERE subject = 'gateway.api_key.budget_changed.v1' ORDER BY seq"


async def staged(engine: AsyncEngine) -> list[ApiKeyBudgetChangedV1]:
    async with engine.connect() as conn:
        payloads = (await conn.execute(text(STAGED))).scalars().all()
    return [decode(ApiKeyBudgetChangedV1, p) for p in payloads]


def limits(event: ApiKeyBudgetChangedV1) -> tuple[str, int | None, int | None]:
    return event.api_key_id, event.spend_limit_day_micros, event.spend_limit_month_micros


async def test_issue_change_clear_and_rotation_announce_the_whole_budget(client: Client, engine: AsyncEngine) -> None:
    registered = await register(client)
    headers = bearer((await login(client))["access_token"])
    assert await staged(engine) == []  # the first key has no budget: nothing to tell billing

    plain = (await client.post("/v1/keys", json={"name": "plain"}, headers=headers)).json()
    limited = await client.post("/v1/keys", json={"spend_limit_day_micros": 5_000}, headers=headers)
    assert limited.status_code == 201, limited.text
    key = limited.json()["id"]
    await client.patch(f"/v1/keys/{plain['id']}", json={"name": "renamed"}, headers=headers)  # not a budget change
    await client.patch(f"/v1/keys/{key}", json={"spend_limit_month_micros": 90_000}, headers=headers)
    await client.patch(f"/v1/keys/{key}", json={"spend_limit_day_micros": None}, headers=headers)
    rotated = await client.post(f"/v1/keys/{key}/rotate", json={"grace_seconds": 0}, headers=headers)
    assert rotated.status_code == 201, rotated.text

    events = await staged(engine)
    assert [limits(e) for e in events] == [
        (key, 5_000, None),
        (key, 5_000, 90_000),
        (key, None, 90_000),
        (rotated.json()["id"], None, 90_000),  # the new secret inherits the budget under its own id
    ]
    assert {e.user_id for e in events} == {registered["user"]["id"]}
    assert [e.occurred_at for e in events] == sorted(e.occurred_at for e in events)  # later changes win in billing
