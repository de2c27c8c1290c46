"""R-PRESENCE in the inbox, in a real browser with two users: who else has the conversation open
or is writing in it, and the stale-send guard keeping a reply written before new activity."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.support import ApiApp, Person
from tests.web.conftest import Delivery, Inbox, Server
from tests.web.test_inbox_app import needs

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database", ["sqlite"], indirect=True)]


@pytest.fixture
async def team(server: Server, delivery: Delivery) -> tuple[Person, Person, ApiApp]:
    """Ana (admin, installed the website chat) and Bob (member), both with access; Carla has written."""
    needs("Subscription", "conversationPresence", "presence")
    ana = await server.api.create_account("Acme", "Ana Admin")
    bob = await server.api.create_user(ana, "Bob Seller")
    app = await server.api.install_api_app(ana, share_with=[bob], delivery_url=delivery.url)
    await app.receive("cust-1", "Is the blue sofa still available?", name="Carla Cliente")
    return ana, bob, app


async def test_r_presence_a_colleague_viewing_then_typing_shows_on_the_thread(open_inbox, team) -> None:
    ana, bob, _ = team
    ana_inbox: Inbox = await open_inbox(ana)
    bob_inbox: Inbox = await open_inbox(bob)
    await ana_inbox.open_conversation("Carla Cliente")
    ana_presence = ana_inbox.page.locator("#thread-presence")
    await expect(ana_inbox.page.locator("#live-status")).to_have_text("Live")

    # when Bob opens the same conversation
    await bob_inbox.open_conversation("Carla Cliente")

    # then Ana sees him viewing it, and neither of them is told about themselves
    await expect(ana_presence).to_have_text("Bob Seller is viewing")
    await expect(bob_inbox.page.locator("#thread-presence")).to_have_text("Ana Admin is viewing")
    # when Bob types in the reply box
    await expect(bob_inbox.page.locator("#thread-title")).to_be_focused()  # opening done: keys stay in the box
    await bob_inbox.page.locator("#reply-text").press_sequentially("Yes, it")
    # then Ana sees him typing, and back to viewing once he stops
    await expect(ana_presence).to_have_text("Bob Seller is typing…")
    await expect(ana_presence).to_have_text("Bob Seller is viewing", timeout=10000)
    # when Bob goes back to the list (the browser's Back), he is gone from Ana's thread at once
    await bob_inbox.page.go_back()
    await expect(bob_inbox.page.locator("#no-thread")).to_be_visible()
    await expect(ana_presence).to_have_text("", timeout=3000)
    # and when he comes back then closes the tab, the closed socket ends his presence
    await bob_inbox.page.go_forward()
    await expect(ana_presence).to_have_text("Bob Seller is viewing")
    await bob_inbox.page.close()
    await expect(ana_presence).to_have_text("", timeout=3000)


async def test_r_presence_a_reply_written_before_a_new_message_is_held_back_then_sent_again(
    open_inbox, team, delivery: Delivery
) -> None:
    needs("Mutation", "sendMessage", "replies")
    ana, _, app = team
    ana_inbox: Inbox = await open_inbox(ana)
    assert await ana_inbox.feature("staleGuard")
    await ana_inbox.open_conversation("Carla Cliente")
    messages = ana_inbox.page.locator("#messages .message")
    await expect(messages).to_have_count(1)
    # given Ana has written a reply
    await expect(ana_inbox.page.locator("#thread-title")).to_be_focused()  # opening done: keys stay in the box
    box = ana_inbox.page.locator("#reply-text")
    await box.press_sequentially("Yes, it is!")

    # when Carla writes again before Ana sends
    await app.receive("cust-1", "Actually, is the green one?", name="Carla Cliente")
    await expect(messages).to_have_count(2)
    await ana_inbox.button("Send").click()

    # then Ana is warned, the reply stays in the box, and nothing reached the customer
    warning = ana_inbox.page.locator("#reply-warning")
    await expect(warning).to_be_visible()
    await expect(warning).to_contain_text("New activity since you started writing")
    await expect(box).to_have_value("Yes, it is!")
    await expect(messages).to_have_count(2)
    assert delivery.received.empty()

    # when she sends again, having seen it
    await ana_inbox.button("Send").click()

    # then the reply goes out once, and the warning is gone
    sent = await delivery.next()
    assert sent["text"] == "Yes, it is!"
    await expect(messages).to_have_count(3)
    await expect(warning).to_be_hidden()
    await expect(box).to_have_value("")
    assert delivery.received.empty()
