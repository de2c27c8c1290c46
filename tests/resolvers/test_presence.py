"""R-PRESENCE: who is viewing or typing in a conversation, through setPresence and
Conversation.presence; expiry 30 s after the last heartbeat; only people who see the conversation.
The subscription is tested in tests/subscriptions/test_presence.py, the stale-send guard in
tests/resolvers/test_replies.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from resolvers.clock import ManualClock
from subscriptions.hub import current_hub, stop_hub
from subscriptions.presence import Board
from tests.notify_support import Team, team  # noqa: F401 (fixture)
from tests.support import Api, Person

SET = "mutation($c: ID!, $a: PresenceActivity) { setPresence(conversationId: $c, activity: $a) }"
PRESENCE = "query($c: ID!) { conversation(id: $c) { presence { user { name } activity since } } }"


@pytest.fixture(autouse=True)
async def empty_board(api: Api) -> AsyncIterator[None]:
    """The hub outlives a test, and the next test's database reuses conversation ids: start empty.
    Stopped after: a running hub reads events in the background, which later tests would count."""
    (await current_hub()).presence = Board()
    yield
    await stop_hub()


async def conversation(team: Team) -> str:
    await team.app.receive("carla", "Is the sofa still available?", name="Carla")
    return await team.app.conversation_id("carla")


async def present(api: Api, by: Person, conversation_id: str) -> list[dict[str, Any]]:
    return list((await api.data(PRESENCE, {"c": conversation_id}, token=by.token))["conversation"]["presence"])


async def set_presence(api: Api, by: Person, conversation_id: str, activity: str | None) -> dict[str, Any]:
    return await api.execute(SET, {"c": conversation_id, "a": activity}, token=by.token)


async def test_r_presence_a_viewer_is_seen_by_another_user_and_the_viewer_too(
    api: Api, team: Team, clock: ManualClock
) -> None:
    conversation_id = await conversation(team)
    assert await present(api, team.bob, conversation_id) == []

    assert (await set_presence(api, team.ana, conversation_id, "VIEWING"))["data"] == {"setPresence": True}
    clock.advance(seconds=5)
    await set_presence(api, team.bob, conversation_id, "TYPING")

    expected = [
        {"user": {"name": team.ana.name}, "activity": "VIEWING", "since": "2026-01-05T09:00:00+00:00"},
        {"user": {"name": team.bob.name}, "activity": "TYPING", "since": "2026-01-05T09:00:05+00:00"},
    ]
    assert await present(api, team.bob, conversation_id) == expected
    assert await present(api, team.ana, conversation_id) == expected


async def test_r_presence_expires_30_seconds_after_the_last_heartbeat(api: Api, team: Team, clock: ManualClock) -> None:
    conversation_id = await conversation(team)
    await set_presence(api, team.ana, conversation_id, "VIEWING")
    clock.advance(seconds=20)
    await set_presence(api, team.ana, conversation_id, "VIEWING")  # the heartbeat keeps `since`
    clock.advance(seconds=29)
    assert await present(api, team.bob, conversation_id) == [
        {"user": {"name": team.ana.name}, "activity": "VIEWING", "since": "2026-01-05T09:00:00+00:00"}
    ]

    clock.advance(seconds=1)  # 30 s after the last heartbeat

    assert await present(api, team.bob, conversation_id) == []


async def test_r_presence_null_activity_leaves_at_once(api: Api, team: Team) -> None:
    conversation_id = await conversation(team)
    await set_presence(api, team.ana, conversation_id, "TYPING")

    assert (await set_presence(api, team.ana, conversation_id, None))["data"] == {"setPresence": True}

    assert await present(api, team.bob, conversation_id) == []


async def test_r_presence_a_user_without_access_cannot_set_it_nor_appear(api: Api, team: Team) -> None:
    conversation_id = await conversation(team)
    outsider = await api.create_account("Otherco", "Olga Other")

    for person in (team.dan, outsider):  # no access to the app; another account
        result = await set_presence(api, person, conversation_id, "VIEWING")
        assert result["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    assert await present(api, team.ana, conversation_id) == []
    for person in (team.dan, outsider):
        data = await api.data(PRESENCE, {"c": conversation_id}, token=person.token)
        assert data["conversation"] is None


async def test_r_presence_is_never_stored_nor_an_event(api: Api, team: Team) -> None:
    from models import InboxEvent

    conversation_id = await conversation(team)
    events = await InboxEvent.all().count()

    await set_presence(api, team.ana, conversation_id, "VIEWING")
    await set_presence(api, team.ana, conversation_id, None)

    assert await InboxEvent.all().count() == events
