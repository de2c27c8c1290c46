"""The inbox web app in a real browser: two users, live updates, assignment with a desktop
notification, the conversation's life cycle, and delivery statuses of a reply."""

from __future__ import annotations

import asyncio
import json
import re
from urllib.parse import urlsplit

import pytest
from playwright.async_api import expect
from twilio.request_validator import RequestValidator

from providers.sandbox.twilio import whatsapp_form
from tests.support import ApiApp, Person
from tests.web.conftest import Delivery, Inbox, Server, served

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database", ["sqlite"], indirect=True)]


def needs(type_name: str, field: str, what: str) -> None:
    if not served(type_name, field):
        pytest.skip(f"{type_name}.{field} is not in the served schema yet: {what}")


async def ana_and_bob(server: Server, delivery: Delivery) -> tuple[Person, Person, ApiApp]:
    """Ana (admin, installed the website chat) and Bob (member), both with access to it; replies go to `delivery`."""
    needs("Subscription", "inboxEvents", "the app updates live through it")
    ana = await server.api.create_account("Acme", "Ana Admin")
    bob = await server.api.create_user(ana, "Bob Seller")
    app = await server.api.install_api_app(ana, share_with=[bob], delivery_url=delivery.url)
    return ana, bob, app


@pytest.fixture
async def team(server: Server, delivery: Delivery) -> tuple[Person, Person, ApiApp]:
    return await ana_and_bob(server, delivery)


@pytest.fixture
async def carla_waiting(open_inbox, team) -> tuple[Inbox, Inbox, ApiApp]:
    """Carla has written in; Ana and Bob each have the inbox open."""
    ana, bob, app = team
    await app.receive("cust-1", "Hello?", name="Carla Cliente")
    ana_inbox, bob_inbox = await open_inbox(ana), await open_inbox(bob)
    await expect(bob_inbox.row("Carla Cliente")).to_be_visible()
    return ana_inbox, bob_inbox, app


async def test_message_from_webhook_appears_in_unassigned_for_both_without_reload(open_inbox, team) -> None:
    ana, bob, app = team
    ana_inbox: Inbox = await open_inbox(ana)
    bob_inbox: Inbox = await open_inbox(bob)
    await expect(ana_inbox.count("UNASSIGNED")).to_have_text("0")

    await app.receive("cust-1", "Do you ship to Lisbon?", name="Carla Cliente")

    for inbox in (ana_inbox, bob_inbox):
        await expect(inbox.row("Carla Cliente")).to_contain_text("Do you ship to Lisbon?")
        await expect(inbox.count("UNASSIGNED")).to_have_text("1")


async def test_assigning_moves_it_to_assigned_to_me_of_the_assignee(carla_waiting) -> None:
    ana_inbox, bob_inbox, _ = carla_waiting

    await ana_inbox.assign("Carla Cliente", "Bob Seller")

    await expect(bob_inbox.count("UNASSIGNED")).to_have_text("0")
    await expect(bob_inbox.count("ASSIGNED_TO_ME")).to_have_text("1")
    await expect(bob_inbox.row("Carla Cliente")).to_have_count(0)
    await bob_inbox.open_section("ASSIGNED_TO_ME")
    await expect(bob_inbox.row("Carla Cliente")).to_be_visible()
    await expect(ana_inbox.count("ASSIGNED_TO_OTHERS")).to_have_text("1")
    await expect(ana_inbox.page.locator("#thread-assignee")).to_have_text("Assigned to Bob Seller")


async def test_assignee_gets_a_desktop_notification(carla_waiting) -> None:
    needs("Subscription", "notifications", "desktop notifications come from it")
    ana_inbox, bob_inbox, _ = carla_waiting

    await ana_inbox.assign("Carla Cliente", "Bob Seller")

    await expect(bob_inbox.page.locator("#notification-list")).to_contain_text("Conversation assigned to you")
    assert await bob_inbox.notifications() == [
        {"title": "Conversation assigned to you", "body": "Ana Admin assigned you the conversation with Carla Cliente."}
    ]
    assert await ana_inbox.notifications() == []


async def test_desktop_notifications_follow_the_settings_in_the_bell(carla_waiting) -> None:
    needs("Subscription", "notifications", "desktop notifications come from it")
    ana_inbox, bob_inbox, app = carla_waiting
    await bob_inbox.page.get_by_role("button", name=re.compile("^Notifications")).click()
    await bob_inbox.page.get_by_label("A conversation is assigned to me: desktop").uncheck()
    await expect(bob_inbox.page.locator("#toast")).to_contain_text("Notification settings saved.")

    await ana_inbox.assign("Carla Cliente", "Bob Seller")
    await expect(bob_inbox.count("ASSIGNED_TO_ME")).to_have_text("1")
    await app.receive("cust-1", "Are you there?", name="Carla Cliente")

    await expect(bob_inbox.page.locator("#notification-list")).to_contain_text("Are you there?")
    assert await bob_inbox.notifications() == [{"title": "New message from Carla Cliente", "body": "Are you there?"}]


async def test_only_available_users_are_offered_for_assignment(open_inbox, team) -> None:
    ana, bob, app = team
    await app.receive("cust-1", "Hello?", name="Carla Cliente")
    bob_inbox = await open_inbox(bob)
    availability = bob_inbox.page.get_by_role("button", name=re.compile("Available"))
    await availability.click()
    await expect(bob_inbox.page.locator("#availability")).to_have_attribute("aria-pressed", "false")

    ana_inbox = await open_inbox(ana)
    await ana_inbox.open_conversation("Carla Cliente")
    options = ana_inbox.page.locator("#assign-select option")
    await expect(options).to_have_text(["Choose someone available…", "Ana Admin (me)"])


async def test_close_then_an_inbound_message_reopens_it(carla_waiting) -> None:
    ana_inbox, bob_inbox, app = carla_waiting

    await ana_inbox.open_conversation("Carla Cliente")
    await ana_inbox.button("Close").click()
    await expect(ana_inbox.page.locator("#thread-status")).to_have_text("Closed")
    await expect(bob_inbox.count("CLOSED")).to_have_text("1")
    await expect(bob_inbox.row("Carla Cliente")).to_have_count(0)

    await app.receive("cust-1", "Still there?", name="Carla Cliente")

    await expect(bob_inbox.row("Carla Cliente")).to_contain_text("Still there?")
    await expect(bob_inbox.count("CLOSED")).to_have_text("0")
    await expect(ana_inbox.page.locator("#thread-status")).to_have_text("Open")
    await expect(ana_inbox.page.locator("#messages")).to_contain_text("Still there?")


async def test_delete_is_offered_to_the_installer_only(carla_waiting) -> None:
    ana_inbox, bob_inbox, _ = carla_waiting

    await bob_inbox.open_conversation("Carla Cliente")
    await expect(bob_inbox.button("Close")).to_be_visible()
    await expect(bob_inbox.button("Delete")).to_have_count(0)

    await ana_inbox.open_conversation("Carla Cliente")
    await ana_inbox.button("Delete").click()
    await ana_inbox.button("Yes, delete").click()

    for inbox in (ana_inbox, bob_inbox):
        await expect(inbox.row("Carla Cliente")).to_have_count(0)
        await expect(inbox.count("UNASSIGNED")).to_have_text("0")
    await expect(bob_inbox.page.locator("#thread")).to_be_hidden()


async def test_deep_link_opens_the_conversation(open_inbox, team) -> None:
    ana, _, app = team
    await app.receive("cust-1", "Hello?", name="Carla Cliente")
    ana_inbox = await open_inbox(ana)
    await ana_inbox.open_conversation("Carla Cliente")
    link = ana_inbox.page.url
    assert re.search(r"/inbox/conversations/[^/]+$", link)

    again = await open_inbox(ana, link)

    await expect(again.page.locator("#thread-title")).to_have_text("Carla Cliente")
    await expect(again.page.locator("#messages")).to_contain_text("Hello?")


async def test_typing_as_soon_as_the_thread_shows_keeps_the_caret_while_the_list_catches_up(open_inbox, team) -> None:
    ana, _, app = team
    await app.receive("cust-1", "Hello?", name="Carla Cliente")
    ana_inbox = await open_inbox(ana)
    page = ana_inbox.page
    # given the list's reload is slow on the wire (a busy server)
    list_held = asyncio.Event()

    async def hold_the_list(route: object) -> None:
        if "query Inbox" in (route.request.post_data or ""):
            await list_held.wait()
        await route.continue_()

    await page.route("**/graphql", hold_the_list)

    # when Ana opens the conversation and starts her reply before the list has caught up
    await ana_inbox.open_conversation("Carla Cliente")
    reply = page.get_by_label("Reply")
    await reply.press_sequentially("Yes, it")
    async with page.expect_response(lambda response: "query Inbox" in (response.request.post_data or "")):
        list_held.set()
    await expect(ana_inbox.row("Carla Cliente").get_by_role("link")).to_have_attribute("aria-current", "true")
    await page.keyboard.type(" is")

    # then every key went into her reply: the list arriving took nothing from her
    await expect(reply).to_have_value("Yes, it is")
    await expect(reply).to_be_focused()


async def test_after_a_drop_the_app_resumes_from_its_last_cursor(open_inbox, team) -> None:
    ana, _, app = team
    ana_inbox = await open_inbox(ana)
    await ana_inbox.page.evaluate("window.switchboard.live.pause()")
    await expect(ana_inbox.page.locator("#live-status")).to_have_attribute("data-status", "reconnecting")

    await app.receive("cust-2", "Sent while you were offline", name="Dora Offline")
    await ana_inbox.page.wait_for_timeout(300)
    await expect(ana_inbox.row("Dora Offline")).to_have_count(0)
    await ana_inbox.page.evaluate("window.switchboard.live.resume()")

    await expect(ana_inbox.page.locator("#live-status")).to_have_attribute("data-status", "live")
    await expect(ana_inbox.row("Dora Offline")).to_contain_text("Sent while you were offline")


async def test_reply_shows_sent_then_delivered(open_inbox, team, delivery) -> None:
    needs("Mutation", "sendMessage", "replies go through it")
    ana, _, app = team
    await app.receive("cust-1", "Hello?", name="Carla Cliente")
    ana_inbox = await open_inbox(ana)
    await ana_inbox.open_conversation("Carla Cliente")

    await ana_inbox.page.get_by_label("Reply").fill("Yes, we ship to Lisbon.")
    await ana_inbox.button("Send").click()

    reply = ana_inbox.page.locator("#messages li.outbound", has_text="Yes, we ship to Lisbon.")
    await expect(reply.locator(".status")).to_have_text("Sent")
    sent = await delivery.next()
    assert sent["text"] == "Yes, we ship to Lisbon."
    body = json.dumps({"messageId": delivery.their_id, "status": "delivered"}).encode()
    response = await app.post_status(body)
    assert response.status_code in (200, 204), response.text
    await expect(reply.locator(".status")).to_have_text("Delivered")


async def test_reply_box_says_when_the_whatsapp_reply_window_is_closed(open_inbox, team, server: Server) -> None:
    needs("Conversation", "canReply", "the reply box asks it")
    ana, _, _ = team
    sid, auth_token = "AC" + "0" * 32, "f" * 32
    installed = await server.api.data(
        """mutation($input: InstallMessagingAppInput!) { installMessagingApp(input: $input) { webhookUrl } }""",
        {
            "input": {
                "provider": "TWILIO_WHATSAPP",
                "name": "WhatsApp",
                "credentials": {"accountSid": sid, "authToken": auth_token, "fromNumber": "+14155238886"},
            }
        },
        token=ana.token,
    )
    webhook_url = installed["installMessagingApp"]["webhookUrl"]
    form = whatsapp_form(
        account_sid=sid, to="+14155238886", sender="+351912345678", body="Olá!", profile_name="Eva Lima"
    )
    signature = RequestValidator(auth_token).compute_signature(webhook_url, form)
    response = await server.api.http.post(
        urlsplit(webhook_url).path, data=form, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 200, response.text
    ana_inbox = await open_inbox(ana)
    await ana_inbox.open_conversation("Eva Lima")
    await expect(ana_inbox.page.locator("#reply-window")).to_contain_text("Reply window open until")
    await expect(ana_inbox.page.get_by_label("Reply")).to_be_enabled()

    server.clock.advance(hours=25)
    await ana_inbox.page.reload()
    await ana_inbox.page.locator("#thread-title", has_text="Eva Lima").wait_for()

    await expect(ana_inbox.page.locator("#reply-window")).to_contain_text("The reply window is closed")
    await expect(ana_inbox.page.get_by_label("Reply")).to_be_disabled()
    await expect(ana_inbox.button("Send")).to_be_disabled()


async def test_linking_a_new_person_shows_the_note_it_wrote(open_inbox, team) -> None:
    needs("Mutation", "linkConversation", "the CRM panel links through it")
    ana, _, app = team
    await app.receive("cust-1", "I'd like a quote for 40 chairs.", name="Carla Cliente")
    ana_inbox = await open_inbox(ana)
    await ana_inbox.open_conversation("Carla Cliente")

    await ana_inbox.button("New person").click()

    person = ana_inbox.page.locator('#crm [data-kind="PERSON"]')
    await expect(person.locator(".linked")).to_contain_text("Carla Cliente")
    note = person.locator(".note")
    await expect(note).to_have_count(1)
    await expect(note).to_contain_text("I'd like a quote for 40 chairs.")
    await expect(note).to_contain_text("Unassigned")
    await expect(note).to_contain_text("/inbox/conversations/")

    await app.receive("cust-1", "Blue ones, please.", name="Carla Cliente")
    await expect(note).to_contain_text("Blue ones, please.")

    await person.get_by_role("button", name="Unlink person").click()
    await expect(person.get_by_label("Find or create a person")).to_be_visible()


async def test_a_wrong_token_is_refused_at_sign_in(browser, server: Server) -> None:
    context = await browser.new_context(base_url=server.url)
    try:
        page = await context.new_page()
        await page.goto("/")
        await page.get_by_label("API token").fill("sb_not-a-real-token")
        await page.get_by_role("button", name="Sign in").click()

        await expect(page.get_by_role("alert")).to_have_text("That token was not accepted. Check it and try again.")
        await expect(page.locator("#app")).to_be_hidden()
    finally:
        await context.close()


async def test_a_link_with_another_users_token_asks_before_switching(browser, open_inbox, team, server: Server) -> None:
    ana, bob, _ = team
    inbox = await open_inbox(ana)
    page = inbox.page
    dialog = page.get_by_role("dialog", name="Switch user?")

    # the link opened in the tab showing Ana's inbox: asked, and cancelled
    await page.goto(f"/#token={bob.token}")
    await expect(dialog).to_contain_text("This link signs in as Bob Seller")
    await expect(dialog).to_contain_text("You are signed in as Ana Admin.")
    assert "token" not in page.url
    await dialog.get_by_role("button", name="Stay signed in as Ana Admin").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#viewer-name")).to_have_text("Ana Admin")
    await page.reload()
    await expect(page.locator("#viewer-name")).to_have_text("Ana Admin")

    # opened afresh in a new tab of the same browser: asked again, and accepted
    tab = await page.context.new_page()
    await tab.goto(f"/#token={bob.token}")
    await expect(tab.locator("#viewer-name")).to_have_text("Ana Admin")
    await tab.get_by_role("dialog", name="Switch user?").get_by_role("button", name="Switch to Bob Seller").click()
    await expect(tab.locator("#viewer-name")).to_have_text("Bob Seller")
    assert "token" not in tab.url

    # a link with an unknown token changes nothing
    await tab.goto("/#token=sb_not-a-real-token")
    await expect(tab.get_by_role("status").filter(has_text="not accepted")).to_be_visible()
    await expect(tab.locator("#viewer-name")).to_have_text("Bob Seller")

    # where nobody is signed in, the link signs in at once (the demo prints such links)
    context = await browser.new_context(base_url=server.url)
    try:
        fresh = await context.new_page()
        await fresh.goto(f"/#token={ana.token}")
        await expect(fresh.locator("#viewer-name")).to_have_text("Ana Admin")
        await expect(fresh.get_by_role("dialog")).to_have_count(0)
    finally:
        await context.close()


async def test_show_more_pages_through_a_long_section(open_inbox, team, server: Server) -> None:
    ana, _, app = team
    for number in range(51):
        await app.receive(f"cust-{number}", f"Message {number}", name=f"Customer {number:02d}")
        server.clock.advance(seconds=1)
    inbox = await open_inbox(ana)
    await expect(inbox.page.locator("#conversation-list li")).to_have_count(50)
    await expect(inbox.row("Customer 00")).to_have_count(0)

    await inbox.button("Show more conversations").click()

    await expect(inbox.page.locator("#conversation-list li")).to_have_count(51)
    await expect(inbox.row("Customer 00")).to_be_visible()
    await expect(inbox.button("Show more conversations")).to_be_hidden()


async def test_a_demoted_user_stays_signed_in_and_live_and_a_revoked_token_signs_out(open_inbox, team) -> None:
    from models import ApiToken, Role, User
    from resolvers.ids import pk_of
    from resolvers.viewer import digest

    # given Ana's and Bob's inboxes live
    ana, bob, app = team
    ana_inbox: Inbox = await open_inbox(ana)
    bob_inbox: Inbox = await open_inbox(bob)
    for inbox in (ana_inbox, bob_inbox):
        await expect(inbox.page.locator("#live-status")).to_have_attribute("data-status", "live")

    # when Ana's role changes and Bob's token is revoked (the server closes both sockets with 4403)
    await User.filter(id=pk_of("User", ana.id)).update(role=Role.MEMBER)
    await ApiToken.filter(digest=digest(bob.token)).delete()

    # then Ana is still signed in, live again, and sees the next message arrive
    await expect(bob_inbox.page.locator("#signin")).to_be_visible(timeout=10_000)
    await expect(bob_inbox.page.locator("#signin-error")).to_contain_text("Your session ended")
    await expect(ana_inbox.page.locator("#viewer-name")).to_have_text("Ana Admin")
    await expect(ana_inbox.page.locator("#live-status")).to_have_attribute("data-status", "live", timeout=10_000)
    await app.receive("cust-9", "Still there?", name="Dora Cliente")
    await expect(ana_inbox.row("Dora Cliente")).to_contain_text("Still there?")
