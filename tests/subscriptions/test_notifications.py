"""Subscription.notifications: the viewer's desktop notifications, live, on the in-memory broker and on Redis."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from providers.api_channel import sign
from resolvers.ids import pk_of
from subscriptions.hub import current_hub
from tests.notify_support import Team, set_choice, team  # noqa: F401 (fixture)
from tests.processes import command_env, switchboard
from tests.realtime_support import SESSION_CHANNEL, Server, Socket
from tests.support import Api, Person

NOTIFICATIONS = """subscription { notifications { id kind conversation { contact { externalId } }
  message { text } actor { name } readAt } }"""
ASSIGN = "mutation($id: ID!, $u: ID!) { assignConversation(id: $id, userId: $u) { id } }"
SHARE = "mutation($id: ID!, $u: [ID!]!) { shareMessagingApp(id: $id, userIds: $u) { id } }"


async def subscribed(socket: Socket, person: Person) -> str:
    """Subscribes and waits until this process's hub holds the stream (notifications are live only)."""
    op = await socket.subscribe(NOTIFICATIONS)
    hub = await current_hub()
    for _ in range(1_000):
        if hub.listeners.get(pk_of("User", person.id)):
            return op
        await asyncio.sleep(0.005)
    raise AssertionError("the notifications subscription never started")


async def notification(socket: Socket, op: str) -> dict[str, Any]:
    message = await socket.message(op)
    assert message["type"] == "next" and not message["payload"].get("errors"), message
    return message["payload"]["data"]["notifications"]


async def test_r_notify_subscription_streams_new_message_notifications(api: Api, server: Server, team: Team) -> None:
    async with Socket.opened(server, team.bob.token) as bob, Socket.opened(server, team.dan.token) as dan:
        bobs, dans = await subscribed(bob, team.bob), await subscribed(dan, team.dan)
        await team.app.receive("carla", "Anyone there?")
        got = await notification(bob, bobs)
        assert got["kind"] == "NEW_MESSAGE_UNASSIGNED"
        assert got["message"] == {"text": "Anyone there?"}
        assert got["conversation"] == {"contact": {"externalId": "carla"}}
        assert got["readAt"] is None
        stored = await api.data("{ notifications { edges { node { id } } } }", token=team.bob.token)
        assert got["id"] == stored["notifications"]["edges"][0]["node"]["id"]

        # Dan has no access: the first notification he gets is one after he was given access.
        await api.data(SHARE, {"id": team.app.id, "u": [team.bob.id, team.dan.id]}, token=team.ana.token)
        await team.app.receive("carla", "Hello again")
        assert (await notification(dan, dans))["message"] == {"text": "Hello again"}


async def test_r_notify_desktop_off_sends_nothing_of_that_kind(api: Api, server: Server, team: Team) -> None:
    await set_choice(api, team.bob, "NEW_MESSAGE_UNASSIGNED", desktop=False, email=False)
    async with Socket.opened(server, team.bob.token) as bob:
        op = await subscribed(bob, team.bob)
        await team.app.receive("carla", "Unheard")
        conversation = await api.data(
            "{ conversations(section: UNASSIGNED) { edges { node { id } } } }", token=team.ana.token
        )
        conversation_id = conversation["conversations"]["edges"][0]["node"]["id"]
        await api.data(ASSIGN, {"id": conversation_id, "u": team.bob.id}, token=team.ana.token)
        got = await notification(bob, op)
    assert got["kind"] == "CONVERSATION_ASSIGNED_TO_ME"
    assert got["actor"] == {"name": "Ana Admin"}
    assert got["message"] is None


@pytest.mark.parametrize("broker_url", ["redis"], indirect=True)
async def test_notification_caused_on_another_process_reaches_the_subscriber_here(
    api: Api, server: Server, team: Team, database: str, redis_url: str, tmp_path: Path
) -> None:
    env = command_env(database, REDIS_URL=redis_url, REDIS_CHANNEL=SESSION_CHANNEL)
    env["SECRET_KEY"] = "test-secret-key"
    with switchboard("serve", env=env, cwd=tmp_path) as other:
        async with Socket.opened(server, team.bob.token) as bob, httpx.AsyncClient(base_url=other.url) as client:
            op = await subscribed(bob, team.bob)
            body = json.dumps({"messageId": "m-1", "sender": {"id": "carla"}, "text": "via the other process"}).encode()
            answer = await client.post(
                f"/webhooks/api/{team.app.id}",
                content=body,
                headers={"Content-Type": "application/json", "X-Switchboard-Signature": sign(team.app.secret, body)},
            )
            assert answer.status_code == 200, answer.text
            got = await notification(bob, op)
    assert got["kind"] == "NEW_MESSAGE_UNASSIGNED" and got["message"] == {"text": "via the other process"}
