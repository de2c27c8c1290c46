"""The Team page in a real browser (R-ADMIN): admins see the team with each user's status, invite
someone, change a role and deactivate or reactivate; the server's refusals are shown."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.support import ApiApp, Person
from tests.web.conftest import Delivery, Inbox, Server, served

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database", ["sqlite"], indirect=True)]


@pytest.fixture
async def team(server: Server, delivery: Delivery) -> tuple[Person, Person, ApiApp]:
    """Ana (admin) and Bob (member), both with access to the website chat."""
    if not served("Mutation", "deactivateUser"):
        pytest.skip("Mutation.deactivateUser is not in the served schema yet")
    ana = await server.api.create_account("Acme", "Ana Admin")
    bob = await server.api.create_user(ana, "Bob Seller")
    app = await server.api.install_api_app(ana, share_with=[bob], delivery_url=delivery.url)
    return ana, bob, app


async def open_team(inbox: Inbox) -> None:
    await inbox.page.get_by_role("link", name="Team").click()
    await expect(inbox.page.get_by_role("heading", name="Team")).to_be_visible()


def user_row(inbox: Inbox, name: str) -> object:
    return inbox.page.locator(".team-table tbody tr").filter(has_text=name)


async def test_r_admin_an_admin_deactivates_a_member_who_is_signed_out_and_reactivates_them(
    open_inbox, team, server: Server
) -> None:
    # given Ana on the Team page and Bob's inbox open and live
    ana, bob, _ = team
    ana_inbox: Inbox = await open_inbox(ana)
    bob_inbox: Inbox = await open_inbox(bob)
    await open_team(ana_inbox)
    await expect(user_row(ana_inbox, "Bob Seller")).to_contain_text("Active")

    # when Ana deactivates Bob (and confirms)
    await ana_inbox.page.get_by_role("button", name="Deactivate Bob Seller").click()
    await ana_inbox.page.get_by_role("button", name="Confirm deactivating Bob Seller").click()

    # then Bob's row says so, and Bob's tab is signed out at once
    await expect(user_row(ana_inbox, "Bob Seller")).to_contain_text("Deactivated")
    await expect(bob_inbox.page.locator("#signin")).to_be_visible(timeout=10_000)
    await expect(bob_inbox.page.locator("#signin-error")).to_contain_text("Your session ended")
    assert await server.api.error_code("{ viewer { id } }", token=bob.token) == "UNAUTHENTICATED"

    # and reactivating brings him back as active
    await ana_inbox.page.get_by_role("button", name="Reactivate Bob Seller").click()
    await expect(user_row(ana_inbox, "Bob Seller")).to_contain_text("Active")
    users = await server.api.data("{ users { name status } }", token=ana.token)
    assert {"name": "Bob Seller", "status": "ACTIVE"} in users["users"]


async def test_r_admin_changing_a_role_and_the_last_admin_refusal_show_on_the_team_page(
    open_inbox, team, server: Server
) -> None:
    ana, _, _ = team
    inbox: Inbox = await open_inbox(ana)
    await open_team(inbox)

    # Ana, the only admin, cannot make herself a member: the server's refusal is shown, her role stays
    await inbox.page.get_by_label("Role of Ana Admin").select_option("MEMBER")
    await expect(inbox.page.locator("#toast p.error")).to_contain_text("last active admin")
    await expect(inbox.page.get_by_label("Role of Ana Admin")).to_have_value("ADMIN")

    # Bob becomes an admin
    await inbox.page.get_by_label("Role of Bob Seller").select_option("ADMIN")
    await expect(inbox.page.locator("#toast")).to_contain_text("Bob Seller is now an admin.")
    users = await server.api.data("{ users { name role } }", token=ana.token)
    assert {"name": "Bob Seller", "role": "ADMIN"} in users["users"]


async def test_r_admin_inviting_someone_shows_their_token_once(open_inbox, team, server: Server) -> None:
    ana, _, _ = team
    inbox: Inbox = await open_inbox(ana)
    await open_team(inbox)

    invite = inbox.page.get_by_role("form", name="Invite someone")  # the sign-in page has an Email too
    await invite.get_by_label("Name", exact=True).fill("Cleo <b>Cruz</b>")
    await invite.get_by_label("Email", exact=True).fill("cleo@acme.test")
    await inbox.page.get_by_role("button", name="Invite").click()

    token = await inbox.page.get_by_label("Token of Cleo <b>Cruz</b>").input_value()
    assert (await server.api.data("{ viewer { name } }", token=token))["viewer"]["name"] == "Cleo <b>Cruz</b>"
    await expect(user_row(inbox, "cleo@acme.test")).to_contain_text("Cleo <b>Cruz</b>")  # as text, not markup


async def test_r_admin_the_team_page_is_for_admins_only(open_inbox, team, server: Server) -> None:
    _, bob, _ = team
    inbox: Inbox = await open_inbox(bob, "/team")

    await expect(inbox.page.get_by_role("link", name="Team")).to_be_hidden()
    await expect(inbox.page.locator("#team")).to_be_hidden()
    await expect(inbox.page.locator("#list-pane")).to_be_visible()


async def test_r_route_an_admin_turns_on_round_robin_and_the_next_arrival_reaches_a_member(
    open_inbox, team, server: Server
) -> None:
    # given Ana on the Team page, the website chat manual, and Bob's inbox open and live
    ana, bob, app = team
    ana_inbox: Inbox = await open_inbox(ana)
    bob_inbox: Inbox = await open_inbox(bob)
    await open_team(ana_inbox)
    routing = ana_inbox.page.get_by_role("form", name="Routing of Website chat")
    await expect(routing.get_by_label("Mode")).to_have_value("MANUAL")

    # when Ana sets round robin with at most one open conversation per person
    await routing.get_by_label("Mode").select_option("ROUND_ROBIN")
    await routing.get_by_label("At most open per person").fill("1")
    await routing.get_by_role("button", name="Save").click()

    # then the server holds it, and of three arrivals Ana and Bob get one each and one waits
    await expect(ana_inbox.page.get_by_text("Routing of Website chat saved.")).to_be_visible()
    apps = await server.api.data("{ messagingApps { assignmentPolicy { mode maxOpenPerUser } } }", token=ana.token)
    assert apps["messagingApps"] == [{"assignmentPolicy": {"mode": "ROUND_ROBIN", "maxOpenPerUser": 1}}]
    for contact in ("Carla Cliente", "Dan Cliente", "Eve Cliente"):
        await app.receive(contact.split()[0].lower(), name=contact)
    await bob_inbox.open_section("ASSIGNED_TO_ME")
    await expect(bob_inbox.row("Dan Cliente")).to_be_visible()
    await bob_inbox.open_section("UNASSIGNED")
    await expect(bob_inbox.row("Eve Cliente")).to_be_visible()
    await expect(bob_inbox.row("Carla Cliente")).to_have_count(0)


async def test_r_route_a_bad_cap_is_refused_and_shown(open_inbox, team, server: Server) -> None:
    ana, _, _ = team
    ana_inbox: Inbox = await open_inbox(ana)
    await open_team(ana_inbox)
    routing = ana_inbox.page.get_by_role("form", name="Routing of Website chat")

    await routing.get_by_label("Mode").select_option("BALANCED")
    await routing.get_by_label("At most open per person").evaluate("input => input.removeAttribute('min')")
    await routing.get_by_label("At most open per person").fill("0")
    await routing.get_by_role("button", name="Save").click()

    await expect(ana_inbox.page.get_by_text("maxOpenPerUser must be 1 to 10000")).to_be_visible()
    await expect(routing.get_by_label("Mode")).to_have_value("MANUAL")
    apps = await server.api.data("{ messagingApps { assignmentPolicy { mode } } }", token=ana.token)
    assert apps["messagingApps"] == [{"assignmentPolicy": {"mode": "MANUAL"}}]
