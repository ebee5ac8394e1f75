"""Input Postgres would choke on (NUL, malformed ids, odd Unicode) is a 404 or 422, never a database error."""

from __future__ import annotations

import pytest

from tests.integration.gateway.chats.conftest import Headers, add_message, assert_error, create_session
from tests.integration.gateway.conftest import Client

ODD_TEXT = ["emoji 🦜 and 汉字", "tab\tnewline\nreturn\r", "\u200b zero width", "'; DROP TABLE x; --", "ü" * 200]


async def test_nul_characters_are_refused(client: Client, alice: Headers) -> None:
    session = await create_session(client, alice)
    messages = f"/v1/chat/sessions/{session['id']}/messages"
    for path, body in (
        ("/v1/chat/sessions", {"title": "a\u0000b"}),
        ("/v1/chat/sessions", {"model": "\u0000"}),
        (messages, {"role": "user", "content": "x\u0000"}),
        (messages, {"role": "user", "content": "x", "client_message_id": "\u0000"}),
        ("/v1/chat/search", {"query": "\u0000"}),
        ("/v1/chat/feedback", {"feedback_type": "thumbs_up", "comment": "\u0000"}),
        ("/v1/chat/feedback", {"feedback_type": "thumbs_up", "metadata": {"k": "\u0000"}}),
        ("/v1/chat/feedback", {"feedback_type": "thumbs_up", "message_id": "m\u0000"}),
    ):
        assert_error(await client.post(path, json=body, headers=alice), 422)
    for params in ({"session_id": "\u0000"}, {"model": "\u0000"}, {"session_id": "nope"}):
        assert_error(await client.get("/v1/chat/feedback", params=params, headers=alice), 422)
    assert_error(await client.get("/v1/chat/feedback/stats", params={"model": "\u0000"}, headers=alice), 422)


@pytest.mark.parametrize("bad_id", ["%00", "chat_short", "chat_" + "x" * 200, "%F0%9F%A6%9C"])
async def test_malformed_ids_are_not_found_without_a_lookup(client: Client, alice: Headers, bad_id: str) -> None:
    assert_error(await client.get(f"/v1/chat/sessions/{bad_id}", headers=alice), 404)
    assert_error(await client.put(f"/v1/chat/sessions/{bad_id}", json={"title": "t"}, headers=alice), 404)
    message = {"role": "user", "content": "x"}
    assert_error(await client.post(f"/v1/chat/sessions/{bad_id}/messages", json=message, headers=alice), 404)
    assert_error(await client.put(f"/v1/chat/feedback/{bad_id}", json={"rating": 2}, headers=alice), 404)
    assert_error(await client.delete(f"/v1/chat/feedback/{bad_id}", headers=alice), 404)
    feedback = {"feedback_type": "thumbs_up", "message_id": "msg_" + "0" * 23}
    assert_error(await client.post("/v1/chat/feedback", json=feedback, headers=alice), 404)


async def test_odd_but_valid_text_round_trips_and_is_searchable(client: Client, alice: Headers) -> None:
    for text in ODD_TEXT:
        session = await create_session(client, alice, title=text)
        saved = await add_message(client, alice, session["id"], content=text, client_message_id=text[:64])
        assert (session["title"], saved["content"], saved["client_message_id"]) == (text, text, text[:64])
        found = await client.post("/v1/chat/search", json={"query": text}, headers=alice)
        assert found.status_code == 200, found.text


async def test_huge_numbers_are_refused(client: Client, alice: Headers) -> None:
    session = await create_session(client, alice)
    assert_error(await client.get("/v1/chat/sessions", params={"limit": str(10**30)}, headers=alice), 422)
    assert_error(await client.get("/v1/chat/feedback/stats", params={"days": str(10**30)}, headers=alice), 422)
    body = {"role": "user", "content": "x", "tokens": 2**31}
    assert_error(await client.post(f"/v1/chat/sessions/{session['id']}/messages", json=body, headers=alice), 422)
