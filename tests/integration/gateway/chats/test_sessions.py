"""Chat sessions and their messages: lifecycle, soft delete, cursor pages, idempotent saves by client message id."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.gateway.chats.conftest import Headers, add_message, assert_error, create_session
from tests.integration.gateway.conftest import Client
from tollway.gateway.db.chat_tables import chat_messages, chat_sessions, message_feedback


async def test_a_session_is_created_read_renamed_and_listed(client: Client, alice: Headers) -> None:
    created = await create_session(client, alice, title="Trip plans", model="gpt-4o-mini")
    untitled = await create_session(client, alice)

    assert created["object"] == "chat.session"
    assert created["id"].startswith("chat_")
    assert (created["title"], created["model"]) == ("Trip plans", "gpt-4o-mini")
    assert re.fullmatch(r"Chat \d{4}-\d\d-\d\d \d\d:\d\d", untitled["title"])
    assert untitled["model"] is None

    renamed = await client.put(f"/v1/chat/sessions/{created['id']}", json={"title": "Rome"}, headers=alice)
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["title"], renamed.json()["model"]) == ("Rome", "gpt-4o-mini")
    cleared = await client.put(f"/v1/chat/sessions/{created['id']}", json={"model": None}, headers=alice)
    assert (cleared.json()["title"], cleared.json()["model"]) == ("Rome", None)

    fetched = await client.get(f"/v1/chat/sessions/{created['id']}", headers=alice)
    assert fetched.status_code == 200
    assert fetched.json()["messages"] == {"object": "list", "data": [], "has_more": False, "next_cursor": None}

    listed = (await client.get("/v1/chat/sessions", headers=alice)).json()
    assert [s["id"] for s in listed["data"]] == [created["id"], untitled["id"]]  # most recently active first


async def test_a_null_title_falls_back_to_the_default(client: Client, alice: Headers) -> None:
    session = await create_session(client, alice, title="Named")
    response = await client.put(f"/v1/chat/sessions/{session['id']}", json={"title": None}, headers=alice)
    assert response.json()["title"].startswith("Chat ")


async def test_sessions_are_paged_by_cursor_without_gaps_or_repeats(client: Client, alice: Headers) -> None:
    ids = [(await create_session(client, alice, title=f"s{i}"))["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/chat/sessions", params=params, headers=alice)).json()
        seen += [s["id"] for s in page["data"]]
        cursor = page["next_cursor"]
        assert page["has_more"] is (cursor is not None)
    assert seen == ids[::-1]
    assert cursor is None


async def test_bad_page_parameters_are_422(client: Client, alice: Headers) -> None:
    for params in ({"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"cursor": "not-a-cursor"}):
        assert_error(await client.get("/v1/chat/sessions", params=params, headers=alice), 422)


async def test_a_deleted_session_is_gone_from_every_route_but_kept_in_storage(
    client: Client, alice: Headers, engine: AsyncEngine
) -> None:
    session = await create_session(client, alice)
    await add_message(client, alice, session["id"], content="keep me")
    path = f"/v1/chat/sessions/{session['id']}"

    deleted = await client.delete(path, headers=alice)

    assert deleted.status_code == 200
    assert deleted.json() == {"id": session["id"], "object": "chat.session", "deleted": True}
    assert_error(await client.get(path, headers=alice), 404, "chat_session_not_found")
    assert_error(await client.put(path, json={"title": "x"}, headers=alice), 404)
    assert_error(await client.delete(path, headers=alice), 404)
    assert_error(await client.post(f"{path}/messages", json={"role": "user", "content": "x"}, headers=alice), 404)
    assert (await client.get("/v1/chat/sessions", headers=alice)).json()["data"] == []
    async with engine.connect() as conn:
        active = (await conn.execute(select(chat_sessions.c.is_active))).scalar_one()
        kept = (await conn.execute(select(func.count()).select_from(chat_messages))).scalar_one()
    assert (active, kept) == (False, 1)


async def test_messages_are_saved_in_order_and_paged(client: Client, alice: Headers) -> None:
    session = await create_session(client, alice)
    sent = [await add_message(client, alice, session["id"], content=f"m{i}", tokens=i) for i in range(5)]

    first = (await client.get(f"/v1/chat/sessions/{session['id']}", params={"limit": 2}, headers=alice)).json()
    assert [m["content"] for m in first["messages"]["data"]] == ["m0", "m1"]
    rest = await client.get(
        f"/v1/chat/sessions/{session['id']}/messages",
        params={"limit": 10, "cursor": first["messages"]["next_cursor"]},
        headers=alice,
    )
    assert [m["id"] for m in rest.json()["data"]] == [m["id"] for m in sent[2:]]
    assert rest.json()["has_more"] is False
    assert sent[0]["object"] == "chat.message"
    assert sent[0]["id"].startswith("msg_")


async def test_saving_a_message_bumps_the_session_and_its_model(client: Client, alice: Headers) -> None:
    older = await create_session(client, alice, model="a")
    newer = await create_session(client, alice)
    await add_message(client, alice, older["id"], role="assistant", content="hi", model="b")

    listed = (await client.get("/v1/chat/sessions", headers=alice)).json()["data"]

    assert [s["id"] for s in listed] == [older["id"], newer["id"]]
    assert listed[0]["model"] == "b"
    assert listed[0]["updated_at"] > older["updated_at"]


async def test_the_same_client_message_id_is_saved_once(client: Client, alice: Headers, engine: AsyncEngine) -> None:
    session = await create_session(client, alice)
    path = f"/v1/chat/sessions/{session['id']}/messages"
    body = {"role": "user", "content": "yes", "client_message_id": "c-1"}

    first = await client.post(path, json=body, headers=alice)
    again = await client.post(path, json=body, headers=alice)
    reused = await client.post(path, json={**body, "content": "no"}, headers=alice)

    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert_error(reused, 409, "client_message_id_reused")
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(chat_messages))).scalar_one() == 1


async def test_repeated_content_without_a_client_id_is_not_dropped(client: Client, alice: Headers) -> None:
    # The seed dropped a second "yes" within five minutes; only an explicit client id deduplicates now.
    session = await create_session(client, alice)
    first = await add_message(client, alice, session["id"], content="yes")
    second = await add_message(client, alice, session["id"], content="yes")
    assert first["id"] != second["id"]


async def test_concurrent_retries_of_one_message_store_one_row(
    client: Client, alice: Headers, engine: AsyncEngine
) -> None:
    session = await create_session(client, alice)
    path = f"/v1/chat/sessions/{session['id']}/messages"
    body = {"role": "assistant", "content": "answer", "client_message_id": "retry-me"}

    responses = await asyncio.gather(*(client.post(path, json=body, headers=alice) for _ in range(8)))

    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(chat_messages))).scalar_one() == 1


async def test_a_batch_saves_in_order_with_partial_failure_and_replays(client: Client, alice: Headers) -> None:
    session = await create_session(client, alice)
    await add_message(client, alice, session["id"], content="taken", client_message_id="c-0")
    path = f"/v1/chat/sessions/{session['id']}/messages/batch"
    messages = [
        {"role": "user", "content": "q1", "client_message_id": "c-1"},
        {"role": "assistant", "content": "a1", "client_message_id": "c-2", "model": "m", "tokens": 7},
        {"role": "user", "content": "different", "client_message_id": "c-0"},
        {"role": "user", "content": "q1", "client_message_id": "c-1"},
        {"role": "user", "content": "no id"},
    ]

    first = await client.post(path, json={"messages": messages}, headers=alice)

    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["object"], body["total"], body["success_count"], body["failure_count"]) == (
        "chat.message.batch",
        5,
        4,
        1,
    )
    assert [m["content"] for m in body["data"]] == ["q1", "a1", "q1", "no id"]
    assert body["data"][0]["id"] == body["data"][2]["id"]  # the repeat inside the batch is the same message
    assert body["failed"] == [
        {
            "index": 2,
            "client_message_id": "c-0",
            "error": {"code": "client_message_id_reused", "message": body["failed"][0]["error"]["message"]},
        }
    ]
    replay = (await client.post(path, json={"messages": messages[:2]}, headers=alice)).json()
    assert [m["id"] for m in replay["data"]] == [m["id"] for m in body["data"][:2]]
    stored = (await client.get(f"/v1/chat/sessions/{session['id']}/messages", headers=alice)).json()["data"]
    assert [m["content"] for m in stored] == ["taken", "q1", "a1", "no id"]


async def test_message_and_batch_bodies_are_validated(client: Client, alice: Headers) -> None:
    session = await create_session(client, alice)
    path = f"/v1/chat/sessions/{session['id']}/messages"
    for body in (
        {"role": "robot", "content": "x"},
        {"role": "user"},
        {"role": "user", "content": "x", "tokens": -1},
        {"role": "user", "content": "x", "client_message_id": ""},
        {"role": "user", "content": "x", "created_at": "2020-01-01T00:00:00Z"},
        {"role": "user", "content": "x", "id": "msg_mine"},
    ):
        assert_error(await client.post(path, json=body, headers=alice), 422)
    too_many = {"messages": [{"role": "user", "content": "x"}] * 101}
    assert_error(await client.post(f"{path}/batch", json=too_many, headers=alice), 422)
    assert_error(await client.post(f"{path}/batch", json={"messages": []}, headers=alice), 422)
    assert_error(await client.post(path, content=b"{not json", headers=alice), 400)  # not JSON at all


async def test_a_purge_erases_the_session_its_messages_and_feedback(
    client: Client, alice: Headers, bob: Headers, engine: AsyncEngine
) -> None:
    session = await create_session(client, alice)
    message = await add_message(client, alice, session["id"], content="forget me")
    feedback = {"feedback_type": "thumbs_up", "message_id": message["id"]}
    assert (await client.post("/v1/chat/feedback", json=feedback, headers=alice)).status_code == 201
    kept = await create_session(client, alice)
    await add_message(client, alice, kept["id"], content="keep me")
    path = f"/v1/chat/sessions/{session['id']}"

    assert_error(await client.delete(path, params={"purge": "true"}, headers=bob), 404)
    purged = await client.delete(path, params={"purge": "true"}, headers=alice)

    assert purged.status_code == 200, purged.text
    assert purged.json() == {"id": session["id"], "object": "chat.session", "deleted": True, "purged": True}
    async with engine.connect() as conn:
        sessions = (await conn.execute(select(chat_sessions.c.id))).scalars().all()
        contents = (await conn.execute(select(chat_messages.c.content))).scalars().all()
        feedback_rows = (await conn.execute(select(func.count()).select_from(message_feedback))).scalar_one()
    assert (sessions, contents, feedback_rows) == ([kept["id"]], ["keep me"], 0)
    assert_error(await client.delete(path, params={"purge": "true"}, headers=alice), 404)
