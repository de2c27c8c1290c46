"""The team inside the inbox, in a real browser with two users: a comment with an @-mention
(R-COMMENT), label chips and the label filter (R-LABEL), and the `/` canned-reply picker."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.support import ApiApp, Person
from tests.web.conftest import Delivery, Inbox, Server
from tests.web.test_inbox_app import ana_and_bob, needs

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database", ["sqlite"], indirect=True)]


@pytest.fixture
async def team(server: Server, delivery: Delivery) -> tuple[Person, Person, ApiApp]:
    """Ana and Bob (tests/web/test_inbox_app.py); Carla has written."""
    ana, bob, app = await ana_and_bob(server, delivery)
    await app.receive("cust-1", "Is the blue sofa still available?", name="Carla Cliente")
    return ana, bob, app


async def test_r_comment_with_an_at_mention_shows_in_the_thread_and_tells_the_colleague(open_inbox, team) -> None:
    needs("Mutation", "addComment", "comments")
    ana, bob, _ = team
    ana_inbox: Inbox = await open_inbox(ana)
    bob_inbox: Inbox = await open_inbox(bob)
    await ana_inbox.open_conversation("Carla Cliente")
    await expect(ana_inbox.page.locator("#messages")).to_contain_text("Is the blue sofa still available?")

    # when Ana types a comment (once the thread has rendered), picks Bob from the @-picker and adds it
    box = ana_inbox.page.locator("#comment-text")
    await box.fill("Can you call her? ")
    await box.press_sequentially("@Bo")
    await ana_inbox.page.locator("#mention-picker [role=option]", has_text="Bob Seller").click()
    await box.press_sequentially("thanks")
    await ana_inbox.button("Add comment").click()

    # then the thread shows it as an internal comment mentioning Bob, the list preview unchanged
    comment = ana_inbox.page.locator("#messages .message.internal")
    await expect(comment).to_contain_text("Can you call her? @Bob Seller thanks")
    await expect(comment).to_contain_text("internal comment")
    await expect(comment).to_contain_text("Mentions Bob Seller")
    await expect(ana_inbox.row("Carla Cliente")).to_contain_text("Is the blue sofa still available?")
    # and Bob is told, in the bell and on the desktop
    await expect(bob_inbox.page.locator("#notification-list")).to_contain_text("Ana Admin mentioned you")
    assert {
        "title": "Ana Admin mentioned you",
        "body": "On the conversation with Carla Cliente: Can you call her? @Bob Seller thanks",
    } in (await bob_inbox.notifications())
    assert await ana_inbox.notifications() == []


async def test_r_label_chips_show_for_everyone_and_the_filter_narrows_the_list(
    open_inbox, team, server: Server
) -> None:
    needs("Query", "labels", "labels")
    ana, bob, app = team
    await app.receive("cust-2", "Hello", name="Dora Duarte")
    create = "mutation($n: String!, $c: String!) { createLabel(name: $n, color: $c) { id } }"
    await server.api.data(create, {"n": "VIP", "c": "#1F8A4C"}, token=ana.token)
    ana_inbox: Inbox = await open_inbox(ana)
    bob_inbox: Inbox = await open_inbox(bob)

    # when Bob opens Carla's conversation and ticks VIP in its labels
    await bob_inbox.open_conversation("Carla Cliente")
    await bob_inbox.page.locator("#thread-labels").get_by_role("button", name="Labels").click()
    await bob_inbox.page.locator("#thread-labels .label-editor").get_by_label("VIP").check()

    # then the chip shows on his thread and, live, on Ana's list
    await expect(bob_inbox.page.locator("#thread-labels .chips")).to_contain_text("VIP")
    await expect(ana_inbox.row("Carla Cliente").locator(".label-chip")).to_have_text("VIP")
    await expect(ana_inbox.row("Dora Duarte").locator(".label-chip")).to_have_count(0)
    # and Ana's label filter keeps only Carla's
    await ana_inbox.page.get_by_label("Label", exact=True).select_option(label="VIP")
    await expect(ana_inbox.row("Dora Duarte")).to_have_count(0)
    await expect(ana_inbox.row("Carla Cliente")).to_be_visible()
    await ana_inbox.page.get_by_label("Label", exact=True).select_option(label="All conversations")
    await expect(ana_inbox.row("Dora Duarte")).to_be_visible()


async def test_canned_reply_slash_picker_fills_the_reply_for_this_conversation(
    open_inbox, team, server: Server, delivery: Delivery
) -> None:
    needs("Query", "cannedReplies", "canned replies")
    ana, bob, _ = team
    create = "mutation($s: String!, $t: String!) { createCannedReply(shortcut: $s, text: $t, shared: true) { id } }"
    await server.api.data(
        create, {"s": "thanks", "t": "Thanks {{contact.name}}! {{user.name}} here.{{deal.title}}"}, token=ana.token
    )
    bob_inbox: Inbox = await open_inbox(bob)
    await bob_inbox.open_conversation("Carla Cliente")

    await expect(bob_inbox.page.locator("#messages")).to_contain_text("Is the blue sofa still available?")

    # when Bob types /tha in the reply box (once the thread has rendered) and picks the canned reply
    reply = bob_inbox.page.locator("#reply-text")
    await reply.press_sequentially("/tha")
    await bob_inbox.page.locator("#canned-picker [role=option]", has_text="/thanks").click()

    # then the box holds it filled in for Carla and him (no deal: nothing, never the braces)
    await expect(reply).to_have_value("Thanks Carla Cliente! Bob Seller here.")
    await bob_inbox.button("Send").click()
    sent = await delivery.next()
    assert sent["text"] == "Thanks Carla Cliente! Bob Seller here."
