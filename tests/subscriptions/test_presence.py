"""R-PRESENCE through the conversationPresence subscription, on the in-memory broker and on Redis:
the whole list on subscribe, on every change and on expiry; NOT_FOUND for whoever cannot see the
conversation. The board itself (subscriptions/presence.py) is fed by the broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from resolvers.clock import ManualClock
from subscriptions.hub import current_hub
from subscriptions.presence import Board
from tests.notify_support import Team, team  # noqa: F401 (fixture)
from tests.processes import command_env, switchboard
from tests.realtime_support import SESSION_CHANNEL, Server, Socket
from tests.support import Api, Person

WATCH = "subscription($c: ID!) { conversationPresence(conversationId: $c) { user { name } activity } }"
SET = "mutation($c: ID!, $a: PresenceActivity) { setPresence(conversationId: $c, activity: $a) }"


@pytest.fixture(autouse=True)
async def empty_board(server: Server) -> AsyncIterator[None]:
    """The hub outlives a test, and the next test's database reuses conversation ids: start empty."""
    (await current_hub()).presence = Board()
    yield


async def presence_list(socket: Socket, op: str) -> list[dict[str, Any]]:
    message = await socket.message(op)
    assert message["type"] == "next" and not message["payload"].get("errors"), message
    return list(message["payload"]["data"]["conversationPresence"])


async def set_presence(api: Api, by: Person, conversation_id: str, activity: str | None) -> None:
    assert (await api.data(SET, {"c": conversation_id, "a": activity}, token=by.token)) == {"setPresence": True}


async def test_r_presence_the_subscription_sends_the_whole_list_on_every_change_and_expiry(
    api: Api, server: Server, team: Team, clock: ManualClock
) -> None:
    await team.app.receive("carla", "Is the sofa still available?")
    conversation_id = await team.app.conversation_id("carla")
    async with Socket.opened(server, team.bob.token) as bob:
        op = await bob.subscribe(WATCH, {"c": conversation_id})
        assert await presence_list(bob, op) == []

        await set_presence(api, team.ana, conversation_id, "VIEWING")
        assert await presence_list(bob, op) == [{"user": {"name": team.ana.name}, "activity": "VIEWING"}]

        clock.advance(seconds=10)
        await set_presence(api, team.cleo, conversation_id, "TYPING")
        assert await presence_list(bob, op) == [
            {"user": {"name": team.ana.name}, "activity": "VIEWING"},
            {"user": {"name": team.cleo.name}, "activity": "TYPING"},
        ]

        clock.advance(seconds=21)  # Ana's heartbeat is 31 s old, Cleo's 21 s
        assert await presence_list(bob, op) == [{"user": {"name": team.cleo.name}, "activity": "TYPING"}]

        await set_presence(api, team.cleo, conversation_id, None)
        assert await presence_list(bob, op) == []


async def test_r_presence_a_user_without_access_cannot_subscribe(api: Api, server: Server, team: Team) -> None:
    await team.app.receive("carla", "Is the sofa still available?")
    conversation_id = await team.app.conversation_id("carla")
    outsider = await api.create_account("Otherco", "Olga Other")
    for person in (team.dan, outsider):
        async with Socket.opened(server, person.token) as socket:
            op = await socket.subscribe(WATCH, {"c": conversation_id})
            message = await socket.message(op)
            assert message["type"] == "error", message
            assert message["payload"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_r_presence_ends_when_the_socket_that_set_it_closes(api: Api, server: Server, team: Team) -> None:
    await team.app.receive("carla", "Is the sofa still available?")
    conversation_id = await team.app.conversation_id("carla")
    async with Socket.opened(server, team.bob.token) as bob:
        op = await bob.subscribe(WATCH, {"c": conversation_id})
        assert await presence_list(bob, op) == []
        async with Socket.opened(server, team.ana.token) as ana:
            sent = await ana.subscribe(SET, {"c": conversation_id, "a": "TYPING"})
            assert (await ana.message(sent))["payload"]["data"] == {"setPresence": True}
            assert await presence_list(bob, op) == [{"user": {"name": team.ana.name}, "activity": "TYPING"}]

        # Ana's socket closed, well before 30 s.
        assert await presence_list(bob, op) == []


@pytest.mark.parametrize("broker_url", ["redis"], indirect=True)
async def test_r_presence_set_on_another_process_reaches_the_subscriber_here(
    api: Api, server: Server, team: Team, database: str, redis_url: str, tmp_path: Path
) -> None:
    await team.app.receive("carla", "Is the sofa still available?")
    conversation_id = await team.app.conversation_id("carla")
    env = command_env(database, REDIS_URL=redis_url, REDIS_CHANNEL=SESSION_CHANNEL)
    env["SECRET_KEY"] = "test-secret-key"
    with switchboard("serve", env=env, cwd=tmp_path) as other:
        async with Socket.opened(server, team.bob.token) as bob, httpx.AsyncClient(base_url=other.url) as client:
            op = await bob.subscribe(WATCH, {"c": conversation_id})
            assert await presence_list(bob, op) == []

            for activity, expected in (
                ("TYPING", [{"user": {"name": team.ana.name}, "activity": "TYPING"}]),
                (None, []),
            ):
                answer = await client.post(
                    "/graphql",
                    json={"query": SET, "variables": {"c": conversation_id, "a": activity}},
                    headers={"Authorization": f"Bearer {team.ana.token}"},
                )
                assert answer.json() == {"data": {"setPresence": True}}, answer.text
                assert await presence_list(bob, op) == expected
