"""End to end over real sockets: the app served by uvicorn behind a (simulated) TLS proxy, the fake
providers posting to it, and an inboxEvents subscriber seeing every step up to READ."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from providers.sandbox.graph import FakeGraph
from providers.sandbox.twilio import FakeTwilio
from resolvers.clock import ManualClock
from settings import Settings, use_settings
from tests.provider_support import PAGE_ID, Inbox, faked_settings, team
from tests.realtime_support import Server, Socket, serving
from tests.support import Api

EVENTS = "subscription { inboxEvents { type conversationId message { direction text status } } }"


class BehindProxy(httpx.AsyncBaseTransport):
    """What a TLS-terminating proxy does: https://inbox.example.test/… arrives as plain http here."""

    def __init__(self, server: Server) -> None:
        host, port = server.host.split(":")
        self.host, self.port = host, int(port)
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http", host=self.host, port=self.port)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
async def live(
    db: str, clock: ManualClock, test_settings: Settings, fake_twilio: FakeTwilio, fake_graph: FakeGraph
) -> AsyncIterator[tuple[Inbox, Server]]:
    try:
        async with serving(faked_settings(test_settings, fake_twilio, fake_graph)) as server:
            api = Api(None)
            await api.http.aclose()
            api.http = httpx.AsyncClient(transport=BehindProxy(server), base_url=test_settings.public_base_url)
            async with api:
                yield await team(api, None, fake_twilio, fake_graph, clock), server
    finally:
        use_settings(test_settings)


async def steps(socket: Socket, op: str, count: int) -> list[tuple[str, Any]]:
    events = await socket.events(op, count)
    return [(event["type"], (event["message"] or {}).get("direction")) for event in events]


async def test_whatsapp_end_to_end_seen_by_the_subscriber(live: tuple[Inbox, Server]) -> None:
    inbox, server = live
    async with Socket.opened(server, inbox.admin.token) as socket:
        op = await socket.subscribe(EVENTS)
        assert (await inbox.whatsapp("+351912345678", "Olá!")).status_code == 200
        assert await steps(socket, op, 2) == [("CONVERSATION_CREATED", None), ("MESSAGE_RECEIVED", "INBOUND")]
        conversation = await inbox.conversation("+351912345678")
        assert conversation["section"] == "UNASSIGNED"

        sent = await inbox.send(conversation["id"], "Olá, em que posso ajudar?")
        assert sent["data"]["sendMessage"]["status"] == "SENT"
        assert await steps(socket, op, 2) == [("MESSAGE_SENT", "OUTBOUND"), ("MESSAGE_STATUS_CHANGED", "OUTBOUND")]

        sid = inbox.twilio.sent[0]["sid"]
        await inbox.twilio.callback(sid, "delivered")
        delivered = await socket.event(op)
        await inbox.twilio.callback(sid, "read")
        read = await socket.event(op)
    assert (delivered["type"], delivered["message"]["status"]) == ("MESSAGE_STATUS_CHANGED", "DELIVERED")
    assert (read["type"], read["message"]["status"]) == ("MESSAGE_STATUS_CHANGED", "READ")
    assert read["conversationId"] == conversation["id"]


async def test_messenger_end_to_end_seen_by_the_subscriber(live: tuple[Inbox, Server]) -> None:
    inbox, server = live
    psid = "7777888899990000"
    async with Socket.opened(server, inbox.admin.token) as socket:
        op = await socket.subscribe(EVENTS)
        assert (await inbox.graph.customer_writes(PAGE_ID, psid, "Hello page")).status_code == 200
        assert await steps(socket, op, 2) == [("CONVERSATION_CREATED", None), ("MESSAGE_RECEIVED", "INBOUND")]
        conversation = await inbox.conversation(psid)

        assert (await inbox.send(conversation["id"], "Hello Jo"))["data"]["sendMessage"]["status"] == "SENT"
        assert await steps(socket, op, 2) == [("MESSAGE_SENT", "OUTBOUND"), ("MESSAGE_STATUS_CHANGED", "OUTBOUND")]

        mid = inbox.graph.page(PAGE_ID).sent[0]["mid"]
        await inbox.graph.echo(PAGE_ID, mid)  # already SENT: no event
        now = int(inbox.clock.now().timestamp() * 1000)
        await inbox.graph.delivery(PAGE_ID, psid, watermark=now, mids=[mid])
        delivered = await socket.event(op)
        await inbox.graph.read(PAGE_ID, psid, watermark=now)
        read = await socket.event(op)
    assert (delivered["type"], delivered["message"]["status"]) == ("MESSAGE_STATUS_CHANGED", "DELIVERED")
    assert (read["type"], read["message"]["status"]) == ("MESSAGE_STATUS_CHANGED", "READ")
