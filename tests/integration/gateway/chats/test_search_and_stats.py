"""Full-text search over a user's own titles and messages, and chat totals over live sessions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.gateway.chats.conftest import (
    Headers,
    add_message,
    assert_error,
    create_session,
    new_user_headers,
)
from tests.integration.gateway.conftest import Client


async def search(client: Client, headers: Headers, query: str, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/chat/search", json={"query": query, **body}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def ids(page: dict[str, Any]) -> list[str]:
    return [session["id"] for session in page["data"]]


async def test_search_matches_titles_and_content_with_stemming(client: Client, alice: Headers) -> None:
    by_title = await create_session(client, alice, title="Sourdough baking notes")
    by_content = await create_session(client, alice, title="Misc")
    await add_message(client, alice, by_content["id"], content="How long should the dough keep rising overnight?")
    unrelated = await create_session(client, alice, title="Taxes")
    await add_message(client, alice, unrelated["id"], content="deductions for a home office")

    assert ids(await search(client, alice, "baked")) == [by_title["id"]]  # "baked" and "baking" share a stem
    assert ids(await search(client, alice, "rises")) == [by_content["id"]]
    assert set(ids(await search(client, alice, "dough OR sourdough"))) == {by_title["id"], by_content["id"]}
    assert ids(await search(client, alice, '"home office" -taxes')) == [unrelated["id"]]
    assert ids(await search(client, alice, "nothing-like-this")) == []


async def test_search_never_sees_other_users_or_deleted_sessions(client: Client, alice: Headers, bob: Headers) -> None:
    mine = await create_session(client, alice, title="alpha")
    theirs = await create_session(client, bob, title="alpha")
    await add_message(client, bob, theirs["id"], content="alpha beta")
    gone = await create_session(client, alice, title="alpha beta")
    await client.delete(f"/v1/chat/sessions/{gone['id']}", headers=alice)

    assert ids(await search(client, alice, "alpha")) == [mine["id"]]
    assert ids(await search(client, alice, "beta")) == []


async def test_search_is_paged(client: Client, alice: Headers) -> None:
    made = [(await create_session(client, alice, title=f"kiwi {i}"))["id"] for i in range(3)]
    first = await search(client, alice, "kiwi", limit=2)
    second = await search(client, alice, "kiwi", limit=2, cursor=first["next_cursor"])
    assert ids(first) + ids(second) == made[::-1]
    assert (first["has_more"], second["has_more"]) == (True, False)


async def test_odd_queries_are_answered_not_failed(client: Client, alice: Headers) -> None:
    await create_session(client, alice, title="100% sure")
    for query in ("%", "_", "'", '"', "a & b | !c", "(", "the", "\\", "100%"):
        await search(client, alice, query)
    for body in ({"query": ""}, {}, {"query": "x" * 201}, {"query": "x", "limit": 0}, {"query": "x", "user_id": "u"}):
        assert_error(await client.post("/v1/chat/search", json=body, headers=alice), 422)


async def plan_of(engine: AsyncEngine, query: str) -> str:
    async with engine.connect() as conn:
        await conn.execute(text("SET LOCAL enable_seqscan = off"))  # the tables are tiny here
        return "\n".join(row[0] for row in await conn.execute(text(f"EXPLAIN {query}")))


async def test_search_and_listing_use_their_indexes(engine: AsyncEngine) -> None:
    for table in ("chat_messages", "chat_sessions"):
        plan = await plan_of(
            engine,
            f"SELECT id FROM gateway.{table} "  # noqa: S608  (a constant table name)
            "WHERE search @@ websearch_to_tsquery('english'::regconfig, 'dough')",
        )
        assert f"ix_{table}_search" in plan
    listing = await plan_of(
        engine,
        "SELECT id FROM gateway.chat_sessions WHERE user_id = 'u' AND is_active "
        "ORDER BY updated_at DESC, seq DESC LIMIT 21",
    )
    assert "ix_chat_sessions_user_recent" in listing
    assert "Sort" not in listing  # the index already gives the page order


async def test_stats_count_live_sessions_their_messages_and_tokens(
    client: Client, alice: Headers, bob: Headers
) -> None:
    kept = await create_session(client, alice)
    await add_message(client, alice, kept["id"], tokens=10)
    await add_message(client, alice, kept["id"], role="assistant", tokens=32)
    dropped = await create_session(client, alice)
    await add_message(client, alice, dropped["id"], tokens=1000)
    await client.delete(f"/v1/chat/sessions/{dropped['id']}", headers=alice)
    other = await create_session(client, bob)
    await add_message(client, bob, other["id"], tokens=5)

    stats = (await client.get("/v1/chat/stats", headers=alice)).json()

    assert stats == {"object": "chat.stats", "total_sessions": 1, "total_messages": 2, "total_tokens": 42}
    carol = await new_user_headers(client, "carol@example.com")
    empty = (await client.get("/v1/chat/stats", headers=carol)).json()
    assert (empty["total_sessions"], empty["total_messages"], empty["total_tokens"]) == (0, 0, 0)
