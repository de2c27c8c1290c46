"""The search box (R-SEARCH) in a real browser: hits replace the list with the matched words marked,
open their conversation, page with "Show more", stay inside what the viewer may see, show customers'
markup as text, and show the server's own words for a search it refuses."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.support import ApiApp, Person
from tests.web.conftest import Delivery, Inbox, Server
from tests.web.test_inbox_app import needs

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database", ["sqlite"], indirect=True)]

HOSTILE = '<img src=x onerror="window.__injected = true"> still about Lisbon'


@pytest.fixture
async def team(server: Server, delivery: Delivery) -> tuple[Person, Person, ApiApp, ApiApp]:
    """Ana (admin) installed the website chat, shared with Bob, and a private chat nobody shares.
    Carla wrote on the shared app; Dora wrote the same word on the private one."""
    needs("Subscription", "inboxEvents", "the app updates live through it")
    needs("Query", "searchConversations", "the search box runs it")
    ana = await server.api.create_account("Acme", "Ana Admin")
    bob = await server.api.create_user(ana, "Bob Seller")
    shared = await server.api.install_api_app(ana, share_with=[bob], delivery_url=delivery.url)
    private = await server.api.install_api_app(ana, name="Private chat", delivery_url=delivery.url)
    await shared.receive("cust-1", "Do you ship to Lisbon?", name="Carla Cliente")
    server.clock.advance(seconds=1)
    await private.receive("cust-2", "Lisbon delivery for the boss", name="Dora Private")
    server.clock.advance(seconds=1)
    return ana, bob, shared, private


def hits(inbox: Inbox) -> object:
    return inbox.page.locator("#search-results li")


async def search(inbox: Inbox, text: str) -> None:
    await inbox.page.get_by_role("searchbox", name="Search conversations").fill(text)
    await inbox.page.get_by_role("searchbox", name="Search conversations").press("Enter")


async def test_r_search_finds_a_customers_word_marked_and_opens_the_conversation(open_inbox, team) -> None:
    _, bob, _, _ = team
    bob_inbox: Inbox = await open_inbox(bob)

    await search(bob_inbox, "lisbon")

    await expect(bob_inbox.page.locator("#list-title")).to_have_text("Search results")
    await expect(hits(bob_inbox)).to_have_count(1)
    hit = hits(bob_inbox).filter(has_text="Carla Cliente")
    await expect(hit.locator(".snippet")).to_have_text("Do you ship to Lisbon?")
    await expect(hit.locator(".snippet mark")).to_have_text("Lisbon")
    await hit.get_by_role("link").click()
    await expect(bob_inbox.page.locator("#thread-title")).to_have_text("Carla Cliente")
    await expect(bob_inbox.page.locator("#messages")).to_contain_text("Do you ship to Lisbon?")


async def test_r_search_does_not_find_a_conversation_of_an_app_not_shared_with_the_viewer(open_inbox, team) -> None:
    ana, bob, _, _ = team
    ana_inbox: Inbox = await open_inbox(ana)
    bob_inbox: Inbox = await open_inbox(bob)

    await search(ana_inbox, "lisbon")
    await search(bob_inbox, "lisbon")

    await expect(hits(ana_inbox)).to_have_count(2)
    await expect(hits(ana_inbox).filter(has_text="Dora Private")).to_be_visible()
    await expect(hits(bob_inbox)).to_have_count(1)
    await expect(hits(bob_inbox).filter(has_text="Dora Private")).to_have_count(0)
    await search(bob_inbox, "boss")
    await expect(bob_inbox.page.locator("#search-results .empty")).to_have_text("No conversation matches.")
    await expect(hits(bob_inbox)).to_have_count(0)


async def test_r_search_shows_markup_in_a_customers_message_as_text(open_inbox, team) -> None:
    _, bob, shared, _ = team
    await shared.receive("cust-3", HOSTILE, name="<b>Eve</b> Markup")
    bob_inbox: Inbox = await open_inbox(bob)

    await search(bob_inbox, "still lisbon")

    hit = hits(bob_inbox).filter(has_text="<b>Eve</b> Markup")
    await expect(hit.locator(".snippet")).to_have_text(HOSTILE)
    await expect(hit.locator(".snippet mark")).to_have_text(["still", "Lisbon"])
    await expect(bob_inbox.page.locator("#search-results img, #search-results b")).to_have_count(0)
    assert await bob_inbox.page.evaluate("window.__injected === undefined")


async def test_r_search_typing_searches_and_clearing_returns_to_the_section(open_inbox, team) -> None:
    _, bob, _, _ = team
    bob_inbox: Inbox = await open_inbox(bob)
    box = bob_inbox.page.get_by_role("searchbox", name="Search conversations")

    await box.press_sequentially("ship")

    await expect(hits(bob_inbox).filter(has_text="Carla Cliente")).to_be_visible()
    await expect(bob_inbox.page.locator("#conversation-list")).to_be_hidden()
    await box.fill("")
    await expect(bob_inbox.page.locator("#search-results")).to_be_hidden()
    await expect(bob_inbox.page.locator("#list-title")).to_have_text("Unassigned")
    await expect(bob_inbox.row("Carla Cliente")).to_be_visible()


async def test_r_search_refused_query_is_shown_as_the_server_words_it(open_inbox, team) -> None:
    _, bob, _, _ = team
    bob_inbox: Inbox = await open_inbox(bob)

    await search(bob_inbox, "?!...")

    await expect(bob_inbox.page.locator("#search-error")).to_have_text("Search for at least one letter or digit.")
    await expect(bob_inbox.row("Carla Cliente")).to_be_visible()


async def test_r_search_show_more_pages_with_the_cursor(open_inbox, team, server: Server) -> None:
    _, bob, shared, _ = team
    for number in range(20):
        await shared.receive(f"many-{number}", f"Parcel {number} to Lisbon", name=f"Customer {number:02d}")
        server.clock.advance(seconds=1)
    bob_inbox: Inbox = await open_inbox(bob)

    await search(bob_inbox, "lisbon")

    await expect(hits(bob_inbox)).to_have_count(20)
    await expect(hits(bob_inbox).filter(has_text="Carla Cliente")).to_have_count(0)
    await bob_inbox.button("Show more results").click()
    await expect(hits(bob_inbox)).to_have_count(21)
    await expect(hits(bob_inbox).filter(has_text="Carla Cliente")).to_be_visible()
    await expect(bob_inbox.button("Show more results")).to_be_hidden()
