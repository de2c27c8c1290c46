"""R-NOTE: a linked conversation's history as notes: one per 24-hour window, re-rendered by every
message in it, never over a user's edit, written in the message's own transaction."""

import asyncio
from datetime import datetime

from resolvers.clock import ManualClock
from tests.resolvers.crm_support import (
    DELETE_NOTE,
    UNLINK,
    UPDATE_NOTE,
    carla_linked,
    link,
    message_lines,
    notes_of,
    texts,
)
from tests.support import ASSIGN, CLOSE, Api

NODE = "query($id: ID!) { node(id: $id) { id } }"
SEND = "mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, text: $t) { id } }"


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_r_note_link_writes_a_note_with_the_history(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    await team.app.receive("cust", "Hi, is the sofa still available?", name="Carla")
    clock.advance(minutes=5)
    await team.app.receive("cust", "And in blue?", name="Carla")
    conversation = await team.app.conversation_id("cust")
    clock.advance(minutes=10)

    linked = await link(api, team.bob, conversation, {"newPerson": {}})

    [note] = await notes_of(api, team.bob, linked["linkedPerson"]["id"])
    assert note["content"] == (
        "Conversation with Carla (cust)\n"
        "Unassigned · Open\n"
        f"https://inbox.example.test/inbox/conversations/{conversation}\n"
        "\n"
        "2026-01-05 09:00 UTC · Carla (inbound): Hi, is the sofa still available?\n"
        "2026-01-05 09:05 UTC · Carla (inbound): And in blue?"
    )
    assert at(note["windowStartsAt"]) == clock.now()
    assert note["conversation"] == {"id": conversation}


async def test_r_note_holds_the_latest_twenty_messages(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    for n in range(1, 26):
        await team.app.receive("cust", f"message {n}")
        clock.advance(minutes=1)
    conversation = await team.app.conversation_id("cust")

    person = (await link(api, team.bob, conversation, {"newPerson": {"name": "Carla"}}))["linkedPerson"]["id"]

    lines = message_lines((await notes_of(api, team.bob, person))[0])
    assert len(lines) == 20
    assert lines[0].endswith("cust (inbound): message 6") and lines[-1].endswith("cust (inbound): message 25")


async def test_r_note_message_within_24_hours_rerenders_the_same_note(api: Api, clock: ManualClock) -> None:
    team, conversation, person = await carla_linked(api)
    [first] = await notes_of(api, team.bob, person)
    await api.data(ASSIGN, {"id": conversation, "u": team.carol.id}, token=team.bob.token)

    clock.advance(hours=1)
    await team.app.receive("cust", "Any news?", name="Carla")

    [note] = await notes_of(api, team.bob, person)
    assert note["id"] == first["id"]
    assert note["windowStartsAt"] == first["windowStartsAt"]
    assert at(note["updatedAt"]) == clock.now()
    assert "Assigned to Carol Member · Open" in note["content"]
    assert message_lines(note) == [
        "2026-01-05 09:00 UTC · Carla (inbound): Hello",
        "2026-01-05 10:00 UTC · Carla (inbound): Any news?",
    ]


async def test_r_note_replies_go_into_the_note_too(api: Api, clock: ManualClock) -> None:
    team, conversation, person = await carla_linked(api, "Is the sofa still available?")
    clock.advance(minutes=7)

    await api.data(SEND, {"c": conversation, "t": "Yes, shall I reserve it?"}, token=team.bob.token)

    [note] = await notes_of(api, team.bob, person)
    assert message_lines(note) == [
        "2026-01-05 09:00 UTC · Carla (inbound): Is the sofa still available?",
        "2026-01-05 09:07 UTC · Bob Member (outbound): Yes, shall I reserve it?",
    ]


async def test_r_note_shows_the_status_when_rendered(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    await team.app.receive("cust", "Thanks, bye", name="Carla")
    conversation = await team.app.conversation_id("cust")
    await api.data(CLOSE, {"id": conversation}, token=team.bob.token)

    person = (await link(api, team.bob, conversation, {"newPerson": {}}))["linkedPerson"]["id"]

    assert (await notes_of(api, team.bob, person))[0]["content"].splitlines()[1] == "Unassigned · Closed"


async def test_r_note_message_after_24_hours_starts_a_second_note(api: Api, clock: ManualClock) -> None:
    team, _, person = await carla_linked(api, "Day one")

    clock.advance(hours=25)
    await team.app.receive("cust", "Day two", name="Carla")
    day_two = clock.now()
    clock.advance(hours=2)
    await team.app.receive("cust", "Still day two", name="Carla")

    second, first = await notes_of(api, team.bob, person)
    assert at(second["windowStartsAt"]) == day_two
    assert texts(second) == ["Day two", "Still day two"]
    assert texts(first) == ["Day one"]


async def test_r_note_edited_note_is_kept_and_the_next_message_starts_a_new_one(api: Api, clock: ManualClock) -> None:
    team, _, person = await carla_linked(api)
    [note] = await notes_of(api, team.bob, person)
    await api.data(UPDATE_NOTE, {"id": note["id"], "c": "Carla wants the blue sofa."}, token=team.bob.token)

    clock.advance(hours=1)
    await team.app.receive("cust", "When can you deliver?", name="Carla")

    newest, edited = await notes_of(api, team.bob, person)
    assert edited == {**edited, "id": note["id"], "content": "Carla wants the blue sofa."}
    assert at(newest["windowStartsAt"]) == clock.now()
    assert texts(newest) == ["When can you deliver?"]


async def test_r_note_deleted_note_makes_the_next_message_start_a_new_one(api: Api, clock: ManualClock) -> None:
    team, _, person = await carla_linked(api)
    [note] = await notes_of(api, team.bob, person)

    deleted = await api.data(DELETE_NOTE, {"id": note["id"]}, token=team.bob.token)
    clock.advance(hours=1)
    await team.app.receive("cust", "Hello again", name="Carla")

    assert deleted == {"deleteNote": note["id"]}
    assert (await api.data(NODE, {"id": note["id"]}, token=team.bob.token))["node"] is None
    [fresh] = await notes_of(api, team.bob, person)
    assert fresh["id"] != note["id"]
    assert texts(fresh) == ["Hello again"]


async def test_r_link_unlink_stops_new_notes_and_keeps_the_old_ones(api: Api, clock: ManualClock) -> None:
    team, conversation, person = await carla_linked(api)
    before = await notes_of(api, team.bob, person)

    unlinked = (await api.data(UNLINK, {"id": conversation, "k": "PERSON"}, token=team.bob.token))["unlinkConversation"]
    clock.advance(hours=1)
    await team.app.receive("cust", "Within the window", name="Carla")
    clock.advance(hours=30)
    await team.app.receive("cust", "A day later", name="Carla")

    assert unlinked["linkedPerson"] is None
    assert await notes_of(api, team.bob, person) == before


async def test_r_note_person_lead_and_deal_linked_at_once_all_get_the_notes(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    await team.app.receive("cust", "I'd like a quote", name="Carla")
    conversation = await team.app.conversation_id("cust")
    await link(api, team.bob, conversation, {"newPerson": {}})
    await link(api, team.bob, conversation, {"newLead": {"title": "Sofa quote"}})
    linked = await link(
        api, team.bob, conversation, {"newDeal": {"title": "Blue sofa", "value": 899.0, "currency": "eur"}}
    )

    clock.advance(hours=2)
    await team.app.receive("cust", "Here are the measurements", name="Carla")

    entities = [linked["linkedPerson"]["id"], linked["linkedLead"]["id"], linked["linkedDeal"]["id"]]
    for entity in entities:
        [note] = await notes_of(api, team.bob, entity)
        assert texts(note) == ["I'd like a quote", "Here are the measurements"]


async def test_r_note_concurrent_messages_in_a_new_window_make_one_note(api: Api, clock: ManualClock) -> None:
    team, _, person = await carla_linked(api, "Day one")
    clock.advance(hours=25)

    await asyncio.gather(*(team.app.receive("cust", f"at once {n}", name="Carla") for n in range(6)))

    second, first = await notes_of(api, team.bob, person)
    assert sorted(texts(second)) == [f"at once {n}" for n in range(6)]
    assert texts(first) == ["Day one"]


async def test_r_note_edit_and_delete_of_another_accounts_note_are_not_found(api: Api, clock: ManualClock) -> None:
    team, _, person = await carla_linked(api)
    [note] = await notes_of(api, team.bob, person)
    stranger = await api.create_account("Globex", "Gus Admin")

    assert await api.error_code(UPDATE_NOTE, {"id": note["id"], "c": "mine"}, token=stranger.token) == "NOT_FOUND"
    assert await api.error_code(DELETE_NOTE, {"id": note["id"]}, token=stranger.token) == "NOT_FOUND"
    assert await notes_of(api, team.bob, person) == [note]


async def test_r_note_empty_content_is_refused(api: Api, clock: ManualClock) -> None:
    team, _, person = await carla_linked(api)
    [note] = await notes_of(api, team.bob, person)

    assert await api.error_code(UPDATE_NOTE, {"id": note["id"], "c": "  "}, token=team.bob.token) == "VALIDATION_FAILED"
    assert await notes_of(api, team.bob, person) == [note]
