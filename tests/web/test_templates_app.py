"""R-TEMPLATE in the browser: the template picker when a WhatsApp reply window is closed, and
"New WhatsApp conversation" from a linked person, against the fake Twilio on the wire."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from urllib.parse import urlsplit

import pytest
from playwright.async_api import expect

from providers.sandbox.twilio import FakeTwilio, whatsapp_form
from resolvers.clock import ManualClock
from settings import Settings
from tests.provider_support import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER
from tests.resolvers.template_support import QUOTE_BODY, SYNC
from tests.support import Person
from tests.web.conftest import LoopbackApi, Server, serve, served

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database", ["sqlite"], indirect=True)]

CUSTOMER = "+351912345678"
NEW_NUMBER = "+14155550123"


@pytest.fixture
async def server(
    db: str, clock: ManualClock, test_settings: Settings, fake_twilio: FakeTwilio
) -> AsyncIterator[Server]:
    """The app served on loopback, its Twilio calls going to the fake Twilio."""
    from app import create_app

    if not served("Mutation", "sendTemplate"):
        pytest.skip("sendTemplate is not served yet")
    fake_twilio.reset()
    settings = replace(test_settings, twilio_api_base_url=fake_twilio.url, send_retry_seconds=0)
    async with (
        serve(create_app(settings, clock=clock, manage_database=False), settings) as url,
        LoopbackApi(url) as api,
    ):
        fake_twilio.webhooks = api.http
        yield Server(url, api, clock)


@pytest.fixture
async def whatsapp(server: Server, fake_twilio: FakeTwilio) -> tuple[Person, str]:
    """Ana, a WhatsApp app with synced templates (one approved with two placeholders, one pending)."""
    ana = await server.api.create_account("Acme", "Ana Admin")
    installed = await server.api.data(
        "mutation($input: InstallMessagingAppInput!) { installMessagingApp(input: $input) { id webhookUrl } }",
        {
            "input": {
                "provider": "TWILIO_WHATSAPP",
                "name": "WhatsApp",
                "credentials": {"accountSid": ACCOUNT_SID, "authToken": AUTH_TOKEN, "fromNumber": FROM_NUMBER},
            }
        },
        token=ana.token,
    )
    fake_twilio.add_content(ACCOUNT_SID, "quote_ready", QUOTE_BODY)
    fake_twilio.add_content(ACCOUNT_SID, "spring_sale", "20% off until {{1}}", approval="pending", category="MARKETING")
    await server.api.data(SYNC, {"a": installed["installMessagingApp"]["id"]}, token=ana.token)
    return ana, installed["installMessagingApp"]["webhookUrl"]


async def customer_writes(server: Server, fake_twilio: FakeTwilio, webhook_url: str, text: str) -> None:
    form = whatsapp_form(account_sid=ACCOUNT_SID, to=FROM_NUMBER, sender=CUSTOMER, body=text, profile_name="Eva Lima")
    response = await fake_twilio.post_signed(urlsplit(webhook_url).path, form, AUTH_TOKEN, signed_url=webhook_url)
    assert response.status_code == 200, response.text


async def test_r_template_picker_sends_a_template_when_the_window_is_closed(
    open_inbox, server: Server, whatsapp, fake_twilio: FakeTwilio
) -> None:
    # Given Eva's conversation, her window closed
    ana, webhook_url = whatsapp
    await customer_writes(server, fake_twilio, webhook_url, "Olá! A quote please.")
    server.clock.advance(hours=25)
    inbox = await open_inbox(ana)
    await inbox.open_conversation("Eva Lima")
    await expect(inbox.page.get_by_label("Reply")).to_be_disabled()
    picker = inbox.page.locator("#template-form")
    await expect(picker).to_be_visible()
    await expect(picker.get_by_label("Template").locator("option")).to_have_text(
        ["Choose an approved template…", "quote_ready (en)"]
    )

    # When Ana picks the approved template and fills its placeholders
    await picker.get_by_label("Template").select_option(label="quote_ready (en)")
    await picker.get_by_label("Value for {{1}}").fill("Eva")
    await picker.get_by_label("Value for {{2}}").fill("Q-7")
    await expect(picker.locator(".template-preview")).to_have_text("Hi Eva, your quote Q-7 is ready.")
    await picker.get_by_role("button", name="Send template").click()

    # Then it is sent through Twilio as the template, and the thread shows it
    sent = inbox.page.locator("#messages li.outbound", has_text="Hi Eva, your quote Q-7 is ready.")
    await expect(sent.locator(".status")).to_have_text("Sent")
    await expect(sent.locator(".template-tag")).to_have_text("Template: quote_ready")
    assert json.loads(fake_twilio.sent[-1]["content_variables"]) == {"1": "Eva", "2": "Q-7"}
    await expect(inbox.page.get_by_label("Reply")).to_be_disabled()  # an agent's message opens no window

    # And when Eva answers, the window is open: the reply box is back, the picker gone
    await customer_writes(server, fake_twilio, webhook_url, "Sim, obrigada!")
    await expect(inbox.page.locator("#messages")).to_contain_text("Sim, obrigada!")
    await expect(inbox.page.get_by_label("Reply")).to_be_enabled()
    await expect(picker).to_be_hidden()


async def test_r_template_picker_names_a_missing_value(open_inbox, server: Server, whatsapp, fake_twilio) -> None:
    ana, webhook_url = whatsapp
    await customer_writes(server, fake_twilio, webhook_url, "Olá!")
    server.clock.advance(hours=25)
    inbox = await open_inbox(ana)
    await inbox.open_conversation("Eva Lima")
    picker = inbox.page.locator("#template-form")
    await picker.get_by_label("Template").select_option(label="quote_ready (en)")
    await picker.get_by_label("Value for {{1}}").fill("Eva")
    await picker.get_by_label("Value for {{2}}").fill("   ")  # the browser accepts it; the server does not

    await picker.get_by_role("button", name="Send template").click()

    await expect(inbox.page.locator("#toast")).to_contain_text("{{2}} needs a value")
    assert fake_twilio.sent == []


async def test_r_template_new_whatsapp_conversation_from_a_linked_person(
    open_inbox, server: Server, whatsapp, fake_twilio: FakeTwilio
) -> None:
    # Given a website-chat conversation linked to a person with a phone number
    ana, _ = whatsapp
    chat = await server.api.install_api_app(ana)
    await chat.receive("cust-1", "Call me on WhatsApp?", name="Carla Cliente")
    conversation_id = await chat.conversation_id("cust-1")
    await server.api.data(
        "mutation($id: ID!, $t: LinkTarget!) { linkConversation(id: $id, target: $t) { id } }",
        {"id": conversation_id, "t": {"newPerson": {"name": "Carla Cliente", "phone": NEW_NUMBER}}},
        token=ana.token,
    )
    inbox = await open_inbox(ana)
    await inbox.open_conversation("Carla Cliente")

    # When Ana starts a WhatsApp conversation from the person with an approved template
    await inbox.button("New WhatsApp conversation").click()
    form = inbox.page.locator(".start-form")
    await expect(form.get_by_label("Phone number (E.164)")).to_have_value(NEW_NUMBER)
    await form.get_by_label("Template").select_option(label="quote_ready (en)")
    await form.get_by_label("Value for {{1}}").fill("Carla")
    await form.get_by_label("Value for {{2}}").fill("Q-9")
    await form.get_by_role("button", name="Start conversation").click()

    # Then the new conversation opens, hers, with the template sent and the person linked
    await expect(inbox.page.locator("#thread-title")).to_have_text(NEW_NUMBER)
    await expect(inbox.page.locator("#thread-assignee")).to_have_text("Assigned to Ana Admin")
    sent = inbox.page.locator("#messages li.outbound", has_text="Hi Carla, your quote Q-9 is ready.")
    await expect(sent.locator(".status")).to_have_text("Sent")
    await expect(inbox.page.locator('#crm [data-kind="PERSON"] .linked')).to_contain_text("Carla Cliente")
    assert fake_twilio.sent[-1]["to"] == f"whatsapp:{NEW_NUMBER}"
