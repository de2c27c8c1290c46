"""The app with its providers' runtime (lifespan) aimed at fake Twilio and Graph servers on 127.0.0.1:
the `inbox` fixture (registered in tests/conftest.py), for the provider tests and the rules they reach."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from models import InboxEvent, Message
from providers.sandbox.graph import FakeGraph
from providers.sandbox.twilio import FakeTwilio, whatsapp_form
from resolvers.clock import ManualClock
from settings import Settings, use_settings
from tests.support import Api, Person

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "feedfacefeedfacefeedfacefeedface"
FROM_NUMBER = "+14155238886"
PAGE_ID = "104532118312345"
PAGE_TOKEN = "EAAGm0PX4ZCpsBAPageToken"
APP_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
VERIFY_TOKEN = "let-me-in-please"
CUSTOMER = "+4915112345678"  # writes on WhatsApp
PSID = "2222333344445555"  # writes on Messenger


@asynccontextmanager
async def running(app: Any) -> AsyncIterator[None]:
    """Drives the ASGI lifespan (httpx's ASGITransport does not): the providers' runtime starts."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    assert started["type"] == "lifespan.startup.complete", started
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


@pytest.fixture(scope="session")
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio()
    fake.add_account(ACCOUNT_SID, AUTH_TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="session")
async def fake_graph() -> AsyncIterator[FakeGraph]:
    fake = FakeGraph()
    await fake.start()
    yield fake
    await fake.stop()


@dataclass
class Inbox:
    """A team with one WhatsApp and one Messenger app, the app running, the fakes wired to it."""

    api: Api
    app: Any
    twilio: FakeTwilio
    graph: FakeGraph
    clock: ManualClock
    admin: Person
    whatsapp_id: str = ""
    whatsapp_url: str = ""
    messenger_id: str = ""
    messenger_url: str = ""

    @property
    def runtime(self) -> Any:
        app = self.app
        while not hasattr(app, "state"):  # through the middleware around the Starlette app
            app = app.app
        return app.state.providers

    async def install(self, provider: str, credentials: dict[str, str], name: str = "App") -> dict[str, str]:
        data = await self.api.data(
            "mutation($i: InstallMessagingAppInput!) { installMessagingApp(input: $i) { id webhookUrl } }",
            {"i": {"provider": provider, "name": name, "credentials": credentials}},
            token=self.admin.token,
        )
        return data["installMessagingApp"]

    async def whatsapp(self, sender: str = "+5511988887777", body: str = "Hello", **fields: Any) -> httpx.Response:
        """A customer writes on WhatsApp: Twilio's signed form at the inbound URL."""
        form = whatsapp_form(account_sid=ACCOUNT_SID, to=FROM_NUMBER, sender=sender, body=body, **fields)
        return await self.twilio.post_signed(self.whatsapp_url, form, AUTH_TOKEN)

    async def post_twilio(
        self,
        form: dict[str, str],
        *,
        url: str | None = None,
        signature: str | None = None,
        signed_url: str | None = None,
    ) -> httpx.Response:
        url = url or self.whatsapp_url
        if url.startswith("/"):
            url = "https://inbox.example.test" + url
        if signature is not None:
            return await self.api.http.post(
                url, data=form, headers={"X-Twilio-Signature": signature} if signature else {}
            )
        return await self.twilio.post_signed(url, form, AUTH_TOKEN, signed_url=signed_url)

    async def conversation(self, contact: str) -> dict[str, Any]:
        data = await self.api.data(
            """query { conversations(section: UNASSIGNED, first: 20) { edges { node {
                 id status section canReply replyWindowEndsAt contact { externalId name avatarUrl }
                 messages(last: 50) { edges { node { id direction text status errorCode errorMessage senderName
                   attachments { url contentType } } } } } } } }""",
            token=self.admin.token,
        )
        for edge in data["conversations"]["edges"]:
            if edge["node"]["contact"]["externalId"] == contact:
                node = edge["node"]
                node["messages"] = [e["node"] for e in node["messages"]["edges"]]
                return node
        raise AssertionError(f"no conversation with {contact} in UNASSIGNED")

    async def send(self, conversation_id: str, text: str = "Thanks, on it!") -> dict[str, Any]:
        return await self.api.execute(
            """mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, text: $t) {
                 id status errorCode errorMessage direction text sentBy { name } } }""",
            {"c": conversation_id, "t": text},
            token=self.admin.token,
        )

    async def message(self, message_id: str) -> dict[str, Any]:
        data = await self.api.data(
            "query($id: ID!) { node(id: $id) { ... on Message { id status errorCode errorMessage text } } }",
            {"id": message_id},
            token=self.admin.token,
        )
        return data["node"]


async def snapshot() -> tuple[list[tuple], list[tuple]]:
    """Every message and event row: what must stay unchanged after a refused webhook."""
    messages = (
        await Message.all().order_by("id").values_list("id", "status", "error_code", "provider_message_id", "text")
    )
    events = await InboxEvent.all().order_by("id").values_list("id", "type", "message_id")
    return list(messages), list(events)


async def event_types(message_pk: int) -> list[str]:
    return [
        str(t) for t in await InboxEvent.filter(message_id=message_pk).order_by("id").values_list("type", flat=True)
    ]


@pytest.fixture
async def inbox(
    db: str, clock: ManualClock, test_settings: Settings, fake_twilio: FakeTwilio, fake_graph: FakeGraph
) -> AsyncIterator[Inbox]:
    async with inbox_with(clock, test_settings, fake_twilio, fake_graph) as inbox:
        yield inbox


@asynccontextmanager
async def inbox_with(
    clock: ManualClock, test_settings: Settings, fake_twilio: FakeTwilio, fake_graph: FakeGraph, **changes: Any
) -> AsyncIterator[Inbox]:
    """The `inbox` fixture's team, on an app whose settings have these `changes`."""
    from app import create_app

    settings = replace(faked_settings(test_settings, fake_twilio, fake_graph), **changes)
    app = create_app(settings, clock=clock, manage_database=False)
    try:
        async with running(app), Api(app) as api:
            inbox = await team(api, app, fake_twilio, fake_graph, clock)
            yield inbox
            await inbox.runtime.drain()
    finally:
        use_settings(test_settings)


def faked_settings(test_settings: Settings, fake_twilio: FakeTwilio, fake_graph: FakeGraph) -> Settings:
    return replace(
        test_settings,
        twilio_api_base_url=fake_twilio.url,
        graph_api_base_url=fake_graph.url,
        graph_api_version=fake_graph.version,
        send_retry_seconds=0,
    )


async def team(api: Api, app: Any, fake_twilio: FakeTwilio, fake_graph: FakeGraph, clock: ManualClock) -> Inbox:
    """An account whose admin installed one WhatsApp and one Messenger app; the fakes post to `api.http`."""
    fake_twilio.reset()
    fake_graph.reset()
    fake_twilio.webhooks = api.http
    fake_graph.webhooks = api.http
    admin = await api.create_account()
    inbox = Inbox(api, app, fake_twilio, fake_graph, clock, admin)
    whatsapp = await inbox.install(
        "TWILIO_WHATSAPP", {"accountSid": ACCOUNT_SID, "authToken": AUTH_TOKEN, "fromNumber": FROM_NUMBER}, "WhatsApp"
    )
    messenger = await inbox.install(
        "MESSENGER",
        {"pageId": PAGE_ID, "pageAccessToken": PAGE_TOKEN, "appSecret": APP_SECRET, "verifyToken": VERIFY_TOKEN},
        "Messenger",
    )
    inbox.whatsapp_id, inbox.whatsapp_url = whatsapp["id"], whatsapp["webhookUrl"]
    inbox.messenger_id, inbox.messenger_url = messenger["id"], messenger["webhookUrl"]
    fake_graph.add_page(PAGE_ID, PAGE_TOKEN, APP_SECRET, messenger["webhookUrl"])
    return inbox


async def whatsapp_conversation(inbox: Inbox) -> str:
    await inbox.whatsapp(CUSTOMER, "Hi there")
    return (await inbox.conversation(CUSTOMER))["id"]


async def messenger_conversation(inbox: Inbox) -> str:
    await inbox.graph.customer_writes(PAGE_ID, PSID, "Hi there")
    return (await inbox.conversation(PSID))["id"]
