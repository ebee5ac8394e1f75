"""Message feedback: one opinion per message (resubmitting replaces it), filters, pages, stats, edits, deletion."""

from __future__ import annotations

from typing import Any

from tests.integration.gateway.chats.conftest import Headers, add_message, assert_error, create_session
from tests.integration.gateway.conftest import Client


async def submit(client: Client, headers: Headers, status: int = 201, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/chat/feedback", json=body, headers=headers)
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


async def answered_session(client: Client, headers: Headers) -> tuple[str, str]:
    session = await create_session(client, headers)
    message = await add_message(client, headers, session["id"], role="assistant", content="42", model="m1")
    return session["id"], message["id"]


async def test_feedback_on_a_message_takes_its_session_and_a_resubmission_replaces_it(
    client: Client, alice: Headers
) -> None:
    session_id, message_id = await answered_session(client, alice)

    first = await submit(client, alice, feedback_type="thumbs_down", message_id=message_id, rating=2, model="m1")
    second = await submit(
        client, alice, 200, feedback_type="thumbs_up", message_id=message_id, rating=5, metadata={"ui": "v2"}
    )

    assert first["object"] == "chat.feedback"
    assert first["id"].startswith("fb_")
    assert (first["session_id"], first["message_id"]) == (session_id, message_id)
    assert second["id"] == first["id"]
    assert (second["feedback_type"], second["rating"], second["metadata"]) == ("thumbs_up", 5, {"ui": "v2"})
    listed = (await client.get("/v1/chat/feedback", headers=alice)).json()
    assert [f["id"] for f in listed["data"]] == [first["id"]]


async def test_feedback_without_a_message_is_allowed_and_never_merged(client: Client, alice: Headers) -> None:
    session = await create_session(client, alice)
    general = await submit(client, alice, feedback_type="regenerate")
    on_session = await submit(client, alice, feedback_type="regenerate", session_id=session["id"])
    again = await submit(client, alice, feedback_type="regenerate", session_id=session["id"])
    assert general["session_id"] is None
    assert len({general["id"], on_session["id"], again["id"]}) == 3


async def test_feedback_targets_must_be_the_callers(client: Client, alice: Headers, bob: Headers) -> None:
    session_id, message_id = await answered_session(client, alice)
    other_session, _ = await answered_session(client, alice)

    for body in (
        {"session_id": session_id},
        {"message_id": message_id},
        {"session_id": session_id, "message_id": message_id},
        {"session_id": "chat_missing"},
    ):
        assert_error(
            await client.post("/v1/chat/feedback", json={"feedback_type": "thumbs_up", **body}, headers=bob), 404
        )
    mismatched = {"feedback_type": "thumbs_up", "session_id": other_session, "message_id": message_id}
    assert_error(await client.post("/v1/chat/feedback", json=mismatched, headers=alice), 404, "chat_message_not_found")
    await client.delete(f"/v1/chat/sessions/{session_id}", headers=alice)
    on_deleted = {"feedback_type": "thumbs_up", "message_id": message_id}
    assert_error(await client.post("/v1/chat/feedback", json=on_deleted, headers=alice), 404)


async def test_feedback_bodies_are_validated(client: Client, alice: Headers) -> None:
    for body in (
        {"feedback_type": "meh"},
        {},
        {"feedback_type": "thumbs_up", "rating": 0},
        {"feedback_type": "thumbs_up", "rating": 6},
        {"feedback_type": "thumbs_up", "comment": "x" * 4001},
        {"feedback_type": "thumbs_up", "metadata": {"blob": "x" * 9000}},
        {"feedback_type": "thumbs_up", "user_id": "usr_someone"},
    ):
        assert_error(await client.post("/v1/chat/feedback", json=body, headers=alice), 422)


async def test_feedback_is_listed_newest_first_filtered_and_paged(client: Client, alice: Headers) -> None:
    session_id, message_id = await answered_session(client, alice)
    made = [
        await submit(client, alice, feedback_type="thumbs_up", message_id=message_id, model="m1"),
        await submit(client, alice, feedback_type="thumbs_down", session_id=session_id, model="m2"),
        await submit(client, alice, feedback_type="regenerate", model="m2"),
    ]

    async def listed(**params: Any) -> dict[str, Any]:
        response = await client.get("/v1/chat/feedback", params=params, headers=alice)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    first = await listed(limit=2)
    rest = await listed(limit=2, cursor=first["next_cursor"])
    assert [f["id"] for f in first["data"] + rest["data"]] == [f["id"] for f in made[::-1]]
    assert [f["id"] for f in (await listed(model="m2"))["data"]] == [made[2]["id"], made[1]["id"]]
    assert [f["id"] for f in (await listed(feedback_type="thumbs_up"))["data"]] == [made[0]["id"]]
    assert [f["id"] for f in (await listed(session_id=session_id))["data"]] == [made[1]["id"], made[0]["id"]]
    session_feedback = await client.get(f"/v1/chat/sessions/{session_id}/feedback", headers=alice)
    assert [f["id"] for f in session_feedback.json()["data"]] == [made[1]["id"], made[0]["id"]]
    for params in ({"feedback_type": "meh"}, {"limit": 101}, {"cursor": "zzz"}):
        assert_error(await client.get("/v1/chat/feedback", params=params, headers=alice), 422)


async def test_feedback_can_be_edited_cleared_and_deleted(client: Client, alice: Headers, bob: Headers) -> None:
    made = await submit(client, alice, feedback_type="thumbs_up", rating=4, comment="nice")
    path = f"/v1/chat/feedback/{made['id']}"

    edited = await client.put(path, json={"feedback_type": "thumbs_down", "comment": None}, headers=alice)

    assert edited.status_code == 200, edited.text
    assert (edited.json()["feedback_type"], edited.json()["rating"], edited.json()["comment"]) == (
        "thumbs_down",
        4,
        None,
    )
    assert edited.json()["updated_at"] >= made["updated_at"]
    assert_error(await client.put(path, json={"rating": 9}, headers=alice), 422)
    assert_error(await client.put(path, json={"model": "m"}, headers=alice), 422)  # not editable
    assert_error(await client.put(path, json={"rating": 1}, headers=bob), 404, "feedback_not_found")
    assert_error(await client.delete(path, headers=bob), 404)
    deleted = await client.delete(path, headers=alice)
    assert deleted.json() == {"id": made["id"], "object": "chat.feedback", "deleted": True}
    assert_error(await client.delete(path, headers=alice), 404)
    assert (await client.get("/v1/chat/feedback", headers=alice)).json()["data"] == []


async def test_feedback_stats_per_type_and_model(client: Client, alice: Headers, bob: Headers) -> None:
    for kind, rating, model in (
        ("thumbs_up", 5, "m1"),
        ("thumbs_up", 4, "m1"),
        ("thumbs_down", 1, "m2"),
        ("regenerate", None, None),
    ):
        await submit(client, alice, feedback_type=kind, rating=rating, model=model)
    await submit(client, bob, feedback_type="thumbs_down", rating=1, model="m1")

    stats = (await client.get("/v1/chat/feedback/stats", headers=alice)).json()

    assert stats == {
        "object": "chat.feedback_stats",
        "period_days": 30,
        "model": None,
        "total_feedback": 4,
        "thumbs_up": 2,
        "thumbs_down": 1,
        "regenerate": 1,
        "thumbs_up_rate": 50.0,
        "thumbs_down_rate": 25.0,
        "average_rating": 3.33,
        "by_model": {
            "m1": {"thumbs_up": 2, "thumbs_down": 0, "regenerate": 0, "total": 2},
            "m2": {"thumbs_up": 0, "thumbs_down": 1, "regenerate": 0, "total": 1},
            "unknown": {"thumbs_up": 0, "thumbs_down": 0, "regenerate": 1, "total": 1},
        },
    }
    only_m1 = (await client.get("/v1/chat/feedback/stats", params={"model": "m1", "days": 7}, headers=alice)).json()
    assert (only_m1["total_feedback"], only_m1["average_rating"], only_m1["period_days"]) == (2, 4.5, 7)
    for days in ("0", "366", "x"):
        assert_error(await client.get("/v1/chat/feedback/stats", params={"days": days}, headers=alice), 422)
