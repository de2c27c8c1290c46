"""The demo's WhatsApp and Messenger: fake Twilio and Graph servers on loopback, apps installed
against them, and simulated customers whose phones report delivered, then read."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import struct
import zlib
from datetime import timedelta

import httpx

from models import Conversation, Message, Provider
from providers.sandbox.graph import FakeGraph
from providers.sandbox.server import Progress
from providers.sandbox.twilio import FakeTwilio, whatsapp_form
from resolvers import apps, clock
from resolvers.apps import webhook_url
from resolvers.messages import InboundMessage, receive_message
from resolvers.viewer import Viewer
from settings import Settings

log = logging.getLogger("switchboard.demo")

ACCOUNT_SID = "AC" + "d3" * 16
AUTH_TOKEN = "0123456789abcdef" * 2
FROM_NUMBER = "+14155238886"
PAGE_ID = "100200300400500"
PAGE_TOKEN = "demo-page-access-token"
APP_SECRET = "demo-app-secret"

WHATSAPP_CUSTOMERS = (
    ("+5511987654321", "Mariana Costa", ("Oi! Do you ship to São Paulo?", "How long does delivery take?")),
    ("+447700900123", "Oliver Hughes", ("Is the oak table available in 180 cm?", "Great, can I pay on delivery?")),
)
# R-TEMPLATE: she wrote two days ago, so only a template reaches her; she answers any template.
QUIET_CUSTOMER = ("+4915112345678", "Lena Vogel", "Could you send me a quote for 6 oak chairs?")
TEMPLATE_ANSWER = "Thanks! Yes, please go ahead 👍"
# The templates of the demo's Twilio account, in each approval status (synced by the server at start).
TEMPLATES = (
    ("quote_ready", "Hi {{1}}, your quote {{2}} is ready. Shall I send it over?", "approved", "UTILITY"),
    ("order_update", "Hello {{1}}, your order {{2}} ships on {{3}}.", "approved", "UTILITY"),
    ("follow_up", "Hi {{1}}, just checking in: is there anything else we can help with?", "approved", "MARKETING"),
    ("spring_sale", "Spring sale: 20% off all sofas until {{1}}!", "pending", "MARKETING"),
    ("login_code", "Your code is {{1}}.", "rejected", "AUTHENTICATION"),
)
MESSENGER_CUSTOMERS = (
    ("7301234567890123", "Sofia", "Rossi", ("Ciao! Do you have the lamp in green?", "Perfect, thank you 🙂")),
    ("7309876543210987", "Jonas", "Berg", ("Hi, can I return a chair I bought last week?", "It is order #5120.")),
)


def photo() -> bytes:
    """A 24×16 PNG of one random colour: a customer's photo."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    width, height = 24, 16
    pixel = bytes(random.randrange(256) for _ in range(3))
    rows = b"".join(b"\x00" + pixel * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


class DemoProviders:
    """Fake Twilio and Graph the demo's server sends to; their customers write through the real webhooks."""

    def __init__(self, interval: float) -> None:
        progress = Progress(delivered_after=interval / 2, read_after=interval / 2)  # the phone, then its owner
        self.http = httpx.AsyncClient(timeout=10)
        self.twilio = FakeTwilio(self.http, progress=progress)
        self.graph = FakeGraph(self.http, progress=progress)
        self.twilio.add_account(ACCOUNT_SID, AUTH_TOKEN)
        for name, body, approval, category in TEMPLATES:
            self.twilio.add_content(ACCOUNT_SID, name, body, approval=approval, category=category)
        for psid, first, last, _ in MESSENGER_CUSTOMERS:
            self.graph.profiles[psid] = {"first_name": first, "last_name": last}
        self.whatsapp_url = ""

    async def start(self) -> None:
        await self.twilio.start()
        await self.graph.start()

    async def stop(self) -> None:
        await self.twilio.stop()
        await self.graph.stop()
        await self.http.aclose()

    def settings(self, base: Settings) -> Settings:
        return dataclasses.replace(
            base,
            twilio_api_base_url=self.twilio.url,
            graph_api_base_url=self.graph.url,
            graph_api_version=self.graph.version,
        )

    async def install(self, boss: Viewer, share_with: list[str]) -> None:
        """A WhatsApp and a Messenger app, a conversation of each of their customers waiting in UNASSIGNED."""
        whatsapp = await apps.install_messaging_app(
            boss,
            Provider.TWILIO_WHATSAPP,
            "WhatsApp (fake Twilio)",
            {"accountSid": ACCOUNT_SID, "authToken": AUTH_TOKEN, "fromNumber": FROM_NUMBER},
            share_with,
        )
        messenger = await apps.install_messaging_app(
            boss,
            Provider.MESSENGER,
            "Messenger (fake Graph)",
            {"pageId": PAGE_ID, "pageAccessToken": PAGE_TOKEN, "appSecret": APP_SECRET, "verifyToken": "demo-verify"},
            share_with,
        )
        self.whatsapp_url = webhook_url(whatsapp)
        self.graph.add_page(PAGE_ID, PAGE_TOKEN, APP_SECRET, webhook_url(messenger))
        for phone, name, lines in WHATSAPP_CUSTOMERS:
            await receive_message(
                InboundMessage(whatsapp.id, "SMseed" + phone[1:], phone, contact_name=name, text=lines[0])
            )
        for psid, first, last, lines in MESSENGER_CUSTOMERS:
            await receive_message(
                InboundMessage(messenger.id, "m_seed" + psid, psid, contact_name=f"{first} {last}", text=lines[0])
            )
        await self._quiet_customer(whatsapp.id)

    async def _quiet_customer(self, app_id: int) -> None:
        """R-TEMPLATE's example: a conversation whose reply window closed a day ago."""
        phone, name, text = QUIET_CUSTOMER
        received = await receive_message(
            InboundMessage(app_id, "SMseed" + phone[1:], phone, contact_name=name, text=text)
        )
        then = clock.now() - timedelta(days=2)
        await Message.filter(id=received.message.id).update(created_at=then, updated_at=then)
        await Conversation.filter(id=received.message.conversation_id).update(
            last_message_at=then, last_inbound_at=then
        )

    async def answer_templates(self, interval: float) -> None:
        """Whoever a template reaches answers it after `interval` seconds: their window opens again."""
        answered = 0
        while True:
            await asyncio.sleep(min(interval, 1.0))
            sent, answered = self.twilio.sent[answered:], len(self.twilio.sent)
            for message in sent:
                if message.get("content_sid"):
                    self.twilio.in_background(self._answer(message["to"].removeprefix("whatsapp:"), interval))

    async def _answer(self, phone: str, interval: float) -> None:
        await asyncio.sleep(interval)
        form = whatsapp_form(
            account_sid=ACCOUNT_SID, to=FROM_NUMBER, sender=phone, body=TEMPLATE_ANSWER, profile_name=None
        )
        try:
            response = await self.twilio.post_signed(self.whatsapp_url, form, AUTH_TOKEN)
            if response.status_code != 200:
                log.warning("simulated answer to a template answered %s: %s", response.status_code, response.text)
        except httpx.HTTPError as error:
            log.warning("simulated answer to a template not delivered: %s", error)

    async def customers(self, interval: float) -> None:
        """A WhatsApp or Messenger customer writes every `interval` seconds, over the real webhooks."""
        while True:
            await asyncio.sleep(interval)
            try:
                if random.random() < 0.5:
                    phone, name, lines = random.choice(WHATSAPP_CUSTOMERS)
                    # Now and then a photo (R-MEDIA): fetched from the fake Twilio after the webhook answered.
                    media = [(self.twilio.add_media(ACCOUNT_SID, photo(), "image/png"), "image/png")]
                    form = whatsapp_form(
                        account_sid=ACCOUNT_SID,
                        to=FROM_NUMBER,
                        sender=phone,
                        body=random.choice(lines),
                        profile_name=name,
                        media=media if random.random() < 0.25 else (),
                    )
                    response = await self.twilio.post_signed(self.whatsapp_url, form, AUTH_TOKEN)
                else:
                    psid, _, _, lines = random.choice(MESSENGER_CUSTOMERS)
                    response = await self.graph.customer_writes(PAGE_ID, psid, random.choice(lines))
                if response.status_code != 200:
                    log.warning("simulated customer message answered %s: %s", response.status_code, response.text)
            except httpx.HTTPError as error:
                log.warning("simulated customer message not delivered: %s", error)
