"""`switchboard demo`: a fresh database with a team, an inbox in every section, simulated customers
writing in through the real webhooks, all served on loopback.

One coroutine per simulated provider (`api_channel_customers`, …): each posts what a customer
would send, over HTTP, to the server's own webhook, so the demo exercises the real inbound path.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import random
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
import uvloop

from models import Provider
from models.db import close_database, migrate, open_database
from providers.sandbox.api_receiver import ApiChannelReceiver
from providers.sandbox.demo_messaging import DemoProviders
from providers.webhooks import sign
from resolvers import apps, assignment, lifecycle, users
from resolvers.ids import to_api_id
from resolvers.messages import InboundMessage, receive_message
from resolvers.users import CreatedUser
from resolvers.viewer import Viewer
from settings import Settings, use_settings

log = logging.getLogger("switchboard.demo")

DEMO_DATABASE = Path("demo.db")
DEMO_FILES = Path("demo-files")  # the demo's file store (R-MEDIA), emptied with the database
INTERVAL_VARIABLE = "SWITCHBOARD_DEMO_INTERVAL"  # seconds between simulated customer messages
DEFAULT_INTERVAL = 5.0


@dataclass
class Customer:
    id: str
    name: str
    lines: tuple[str, ...]


CUSTOMERS = (
    Customer(
        "cust-lucia", "Lucía Fernández", ("Hi! Is the blue sofa still in stock?", "Could it be delivered on Saturday?")
    ),
    Customer("cust-tom", "Tom Becker", ("My order #4411 has not arrived yet.", "Any news about my order?")),
    Customer("cust-amara", "Amara Okafor", ("Do you offer a discount for 10 licences?", "Thanks, that helps 🙏")),
    Customer("cust-kenji", "Kenji Sato", ("Can I change the invoice address?", "It should be Sato GmbH, Berlin.")),
    Customer("cust-zoe", "Zoë Martin", ("Hello 👋 is anyone there?", "I would like to book a demo.")),
)


@dataclass
class DemoTeam:
    admin: CreatedUser
    members: list[CreatedUser]
    api_app_id: str
    api_secret: str


def demo_settings(base: Settings, host: str, port: int) -> Settings:
    public_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return dataclasses.replace(
        base,
        database_url=f"sqlite://{DEMO_DATABASE}",
        public_base_url=f"http://{public_host}:{port}",
        env="development",
        files_dir=str(DEMO_FILES),
    )


def fresh_database() -> None:
    for path in (DEMO_DATABASE, Path(f"{DEMO_DATABASE}-wal"), Path(f"{DEMO_DATABASE}-shm")):
        path.unlink(missing_ok=True)
    shutil.rmtree(DEMO_FILES, ignore_errors=True)


async def seed(delivery_url: str, api_secret: str, messaging: DemoProviders) -> DemoTeam:
    """An account with an admin and two members, one API-channel app shared with all, and an inbox
    with conversations in every section."""
    _, admin = await users.create_account("Acme Furniture", "Ana Admin", "ana@acme.test")
    boss = Viewer(admin.user)
    ben = await users.create_user(boss, "Ben Member", "ben@acme.test")
    cleo = await users.create_user(boss, "Cleo Member", "cleo@acme.test")
    app = await apps.install_messaging_app(
        boss,
        Provider.API,
        "Website chat",
        {"secret": api_secret, "deliveryUrl": delivery_url},
        [to_api_id("User", ben.user.id), to_api_id("User", cleo.user.id)],
    )
    await messaging.install(boss, [to_api_id("User", ben.user.id), to_api_id("User", cleo.user.id)])
    conversations = []
    for customer in CUSTOMERS:
        received = await receive_message(
            InboundMessage(
                app_id=app.id,
                provider_message_id=f"seed-{customer.id}",
                contact_external_id=customer.id,
                contact_name=customer.name,
                text=customer.lines[0],
            )
        )
        conversation_id = received.message.conversation_id
        assert conversation_id is not None  # a message just received is in its conversation
        conversations.append(to_api_id("Conversation", conversation_id))
    # two stay UNASSIGNED; one each for Ana and Ben; one closed with Cleo
    await assignment.assign_conversation(boss, conversations[2], to_api_id("User", admin.user.id))
    await assignment.assign_conversation(boss, conversations[3], to_api_id("User", ben.user.id))
    await assignment.assign_conversation(boss, conversations[4], to_api_id("User", cleo.user.id))
    await lifecycle.close_conversation(boss, conversations[4])
    return DemoTeam(admin, [ben, cleo], to_api_id("MessagingApp", app.id), api_secret)


async def api_channel_customers(base_url: str, team: DemoTeam, interval: float) -> None:
    """Customers of the generic API channel: a signed JSON message every `interval` seconds."""
    url = f"{base_url}/webhooks/api/{team.api_app_id}"
    async with httpx.AsyncClient(timeout=10) as http:
        while True:
            await asyncio.sleep(interval)
            customer = random.choice(CUSTOMERS)
            body = json.dumps(
                {
                    "messageId": "sim-" + secrets.token_hex(8),
                    "sender": {"id": customer.id, "name": customer.name},
                    "text": random.choice(customer.lines),
                }
            ).encode()
            headers = {"Content-Type": "application/json", "X-Switchboard-Signature": sign(team.api_secret, body)}
            try:
                response = await http.post(url, content=body, headers=headers)
                if response.status_code != 200:
                    log.warning("simulated API-channel message answered %s: %s", response.status_code, response.text)
            except httpx.HTTPError as error:
                log.warning("simulated API-channel message not delivered: %s", error)


def _welcome(settings: Settings, team: DemoTeam) -> str:
    people = [("admin", team.admin), *(("member", member) for member in team.members)]
    lines = [
        "",
        f"Switchboard demo: GraphiQL at {settings.public_base_url}/graphql, the inbox at {settings.public_base_url}/",
        f"Open the inbox signed in as {team.admin.user.name}: {settings.public_base_url}/#token={team.admin.token}",
        f"Database: {DEMO_DATABASE.resolve()} (recreated on every start)",
        "Send `Authorization: Bearer <token>`:",
        *(
            f"  {role:<6} {created.user.name:<12} {created.user.email:<16} token: {created.token}"
            for role, created in people
        ),
        f"Simulated customers write to the API channel app {team.api_app_id} (signing secret {team.api_secret}),",
        "and on WhatsApp and Messenger through fake Twilio and Graph servers on loopback: replies there",
        "go SENT, then DELIVERED and READ a few seconds later. No account anywhere.",
        "Lena Vogel's WhatsApp window closed two days ago: send her an approved template (sendTemplate) and",
        "she answers, which opens the window again.",
        "",
    ]
    return "\n".join(lines)


async def serve_demo(settings: Settings, host: str, port: int, interval: float) -> None:
    from app import create_app, server_options

    messaging = DemoProviders(interval)
    await messaging.start()
    settings = messaging.settings(settings)
    use_settings(settings)
    await migrate(settings.database_url)
    await open_database(settings.database_url)
    api_secret = "demo-" + secrets.token_hex(12)
    receiver = ApiChannelReceiver(api_secret)
    await receiver.start()
    try:
        team = await seed(receiver.delivery_url, api_secret, messaging)
    finally:
        await close_database()

    config = uvicorn.Config(create_app(settings), host=host, port=port, **server_options(settings))
    server = uvicorn.Server(config)
    print(_welcome(settings, team), flush=True)
    customers = [
        asyncio.create_task(api_channel_customers(f"http://127.0.0.1:{port}", team, interval)),
        asyncio.create_task(messaging.customers(interval)),
        asyncio.create_task(messaging.answer_templates(interval)),
    ]
    try:
        await server.serve()
    finally:
        for task in customers:
            task.cancel()
        await asyncio.gather(*customers, return_exceptions=True)
        await receiver.stop()
        await messaging.stop()


def run_demo(host: str = "127.0.0.1", port: int = 8000) -> None:
    interval = float(os.environ.get(INTERVAL_VARIABLE) or DEFAULT_INTERVAL)
    settings = demo_settings(Settings.from_env(), host, port)
    fresh_database()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve_demo(settings, host, port, interval))
