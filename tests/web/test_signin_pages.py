"""R-SIGNIN in the browser: signing in with a password, sign-out, "forgot password", the page of an
invitation link, and the tokens page. (The `#token=` link of the demo: tests/web/test_inbox_app.py.)"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import pytest
from playwright.async_api import expect

from models import ApiToken, TokenKind
from resolvers.clock import ManualClock
from resolvers.signin import set_password
from settings import Settings
from tests.smtp_sink import SmtpSink
from tests.support import Person
from tests.web.conftest import LoopbackApi, Server, serve

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database", ["sqlite"], indirect=True)]

PASSWORD = "correct horse battery"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
async def server(db: str, clock: ManualClock, test_settings: Settings, sink: SmtpSink) -> AsyncIterator[Server]:
    """As tests/web/conftest.py's, with the app's own email worker sending to the test SMTP server."""
    from app import create_app

    settings = replace(test_settings, smtp_url=sink.url)
    async with (
        serve(create_app(settings, clock=clock, manage_database=False), settings) as url,
        LoopbackApi(url) as api,
    ):
        yield Server(url, api, clock)


@pytest.fixture
async def page(browser, server: Server) -> AsyncIterator[object]:
    context = await browser.new_context(base_url=server.url)
    errors: list[str] = []
    try:
        tab = await context.new_page()
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.set_default_timeout(8000)
        yield tab
    finally:
        await context.close()
    assert not errors, f"the page threw: {errors}"


@pytest.fixture
async def ana(server: Server) -> Person:
    admin = await server.api.create_account("Acme", "Ana Admin")
    await set_password("ana@acme.test", PASSWORD)
    return admin


async def emailed_code(sink: SmtpSink, address: str, kind: str) -> str:
    """The code of the link the server's email worker sent to `address`."""
    for _ in range(500):
        if sink.to(address):
            break
        await asyncio.sleep(0.01)  # waiting on the worker, woken by the commit that queued the email
    found = re.search(rf"/#{kind}=(\S+)", sink.to(address)[-1].part("text/plain"))
    assert found
    return found.group(1)


async def test_r_signin_signing_in_with_a_password_and_out_again(page, ana: Person) -> None:
    await page.goto("/")
    await page.locator("#signin-form").get_by_label("Email").fill("ana@acme.test")
    await page.get_by_label("Password", exact=True).fill("not my password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")

    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#viewer-name")).to_have_text("Ana Admin")
    assert await ApiToken.filter(kind=TokenKind.SESSION).count() == 1

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.locator("#signin-form")).to_be_visible()
    # the session is revoked, not only forgotten by the browser; the API token stays
    assert await ApiToken.filter(kind=TokenKind.SESSION).count() == 0
    assert await ApiToken.filter(kind=TokenKind.API).count() == 1


async def test_r_signin_an_invitation_link_sets_the_password_and_signs_in(
    page, server: Server, ana: Person, sink: SmtpSink
) -> None:
    await server.api.data(
        'mutation { createUser(name: "Bea Member", email: "bea@acme.test") { user { id } } }', token=ana.token
    )
    code = await emailed_code(sink, "bea@acme.test", "invite")

    await page.goto(f"/#invite={code}")
    assert code not in page.url  # taken out of the address bar at once
    await expect(page.get_by_role("heading", name="Welcome to Switchboard")).to_be_visible()
    await page.get_by_label("New password", exact=True).fill("bea's own password")
    await page.get_by_label("Type the password again").fill("bea's own passwrd")
    await page.get_by_role("button", name="Set password and sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("The two passwords differ.")
    await page.get_by_label("Type the password again").fill("bea's own password")
    await page.get_by_role("button", name="Set password and sign in").click()

    await expect(page.locator("#viewer-name")).to_have_text("Bea Member")

    # the same link again is refused
    await page.goto(f"/#invite={code}")
    await page.get_by_label("New password", exact=True).fill("someone else's password")
    await page.get_by_label("Type the password again").fill("someone else's password")
    await page.get_by_role("button", name="Set password and sign in").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "This link has expired or was already used. Ask for a new one."
    )


async def test_r_signin_forgot_password_emails_a_link_that_sets_a_new_one(page, ana: Person, sink: SmtpSink) -> None:
    await page.goto("/")
    await page.get_by_role("button", name="Forgot your password?").click()
    await page.locator("#forgot-form").get_by_label("Email").fill("ana@acme.test")
    await page.get_by_role("button", name="Email me a link").click()
    await expect(page.get_by_role("status").filter(has_text="link is on its way")).to_be_visible()

    code = await emailed_code(sink, "ana@acme.test", "reset")
    await page.goto(f"/#reset={code}")
    await page.get_by_label("New password", exact=True).fill("a brand new password")
    await page.get_by_label("Type the password again").fill("a brand new password")
    await page.get_by_role("button", name="Set password and sign in").click()

    await expect(page.locator("#viewer-name")).to_have_text("Ana Admin")


async def test_r_signin_the_tokens_page_lists_creates_and_revokes_tokens(page, ana: Person) -> None:
    await page.goto("/")
    await page.locator("#signin-form").get_by_label("Email").fill("ana@acme.test")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#viewer-name")).to_have_text("Ana Admin")

    await page.get_by_role("button", name="Tokens").click()
    tokens = page.get_by_role("dialog")
    await expect(tokens.locator("#token-list li")).to_have_count(2)
    await expect(tokens.locator("#token-list li").first).to_contain_text("(this browser)")

    await tokens.get_by_label("New token for an integration").fill("<b>Zapier</b>")
    await tokens.get_by_role("button", name="Create", exact=True).click()
    await expect(tokens.get_by_label("Your new token")).to_have_value(re.compile(r"^sb_\S{40,}$"))
    await expect(tokens.locator("#token-list li")).to_have_count(3)
    await expect(tokens.locator("#token-list li").first).to_contain_text("<b>Zapier</b>")

    await tokens.get_by_role("button", name="Revoke <b>Zapier</b>").click()
    await expect(tokens.locator("#token-list li")).to_have_count(2)
    assert not await ApiToken.filter(name="<b>Zapier</b>").exists()

    # revoking this browser's own session signs it out
    await tokens.get_by_role("button", name=re.compile("^Revoke Session")).click()
    await expect(page.locator("#signin-form")).to_be_visible()
    await expect(page.locator("#signin-error")).to_contain_text("You revoked the token of this browser")
