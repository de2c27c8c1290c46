"""Browser fixtures: a real uvicorn server on loopback over the test database, and Debian's Chromium
driven by Playwright, one browser context per user. Runs once, on SQLite: what the browser shows
does not depend on the storage backend, which the API tests already cover on both.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from resolvers.clock import ManualClock
from settings import Settings
from tests.support import Api, Person

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Records every desktop notification the page shows, and keeps the browser's permission answer.
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.__notifications = [];
  class Recording {
    constructor(title, options = {}) { window.__notifications.push({ title, body: options.body || "" }); }
    close() {}
    static get permission() { return Real ? Real.permission : "denied"; }
    static requestPermission() { return Real ? Real.requestPermission() : Promise.resolve("denied"); }
  }
  window.Notification = Recording;
})();
"""


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


class LoopbackApi(Api):
    """The test's own API client, talking to the real server over loopback like any other client."""

    def __init__(self, base_url: str) -> None:
        self.app = None
        self.http = httpx.AsyncClient(base_url=base_url, timeout=10)


@dataclass
class Server:
    url: str
    api: LoopbackApi
    clock: ManualClock


@cache
def served(type_name: str, field_name: str) -> bool:
    """Whether the schema the server serves has this field (features land while the app is built)."""
    from schema import build_schema
    from schema.strawberry_internals import graphql_schema

    graphql_type = graphql_schema(build_schema()).get_type(type_name)
    return graphql_type is not None and field_name in getattr(graphql_type, "fields", {})


@asynccontextmanager
async def serve(app: Any, settings: Settings | None = None) -> AsyncIterator[str]:
    """Serves `app` with uvicorn on a free loopback port in this event loop; yields its base URL.
    Given Switchboard's settings, with the protocols and limits `switchboard serve` uses."""
    from app import server_options

    protocols: dict[str, Any] = {}
    if settings is not None:
        options = server_options(settings)
        protocols = {name: options[name] for name in ("http", "ws", "ws_max_size", "ws_per_message_deflate")}
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="on", log_level="warning", **protocols)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


@pytest.fixture
async def server(db: str, clock: ManualClock, test_settings: Settings) -> AsyncIterator[Server]:
    """The whole app served by uvicorn on loopback, over the test database."""
    from app import create_app

    async with (
        serve(create_app(test_settings, clock=clock, manage_database=False), test_settings) as url,
        LoopbackApi(url) as api,
    ):
        yield Server(url, api, clock)


@dataclass
class Delivery:
    """A fake API-channel receiver on loopback: takes every reply and answers with its own id."""

    url: str = ""
    their_id: str = "their-1"
    received: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.received.get(), 10)


@pytest.fixture
async def delivery() -> AsyncIterator[Delivery]:
    sink = Delivery()

    async def deliver(request: Request) -> JSONResponse:
        await sink.received.put(json.loads(await request.body()))
        return JSONResponse({"messageId": sink.their_id})

    async with serve(Starlette(routes=[Route("/deliver", deliver, methods=["POST"])])) as url:
        sink.url = f"{url}/deliver"
        yield sink


@pytest.fixture(scope="session")
def chromium() -> str:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (make browser)")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: str) -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


class Inbox:
    """One user's browser tab on the inbox, with the questions a user would ask of the screen."""

    def __init__(self, page: object, person: Person) -> None:
        self.page = page
        self.person = person

    def section(self, name: str) -> object:
        return self.page.locator(f'#sections button[data-section="{name}"]')

    def count(self, name: str) -> object:
        return self.section(name).locator(".count")

    def row(self, contact: str) -> object:
        return self.page.locator("#conversation-list li").filter(has_text=contact)

    def button(self, name: str) -> object:
        return self.page.get_by_role("button", name=name, exact=True)

    async def open_section(self, name: str) -> None:
        await self.section(name).click()

    async def open_conversation(self, contact: str) -> None:
        await self.row(contact).get_by_role("link").click()
        await self.page.locator("#thread-title", has_text=contact).wait_for()

    async def feature(self, name: str) -> bool:
        """Whether the app found this feature's API in the served schema."""
        return await self.page.evaluate(f"window.switchboard ? Boolean(window.switchboard.features.{name}) : false")

    async def assign(self, contact: str, to: str) -> None:
        await self.open_conversation(contact)
        await self.page.get_by_label("Assign to").select_option(label=to)
        await self.button("Assign").click()

    async def notifications(self) -> list[dict[str, str]]:
        return await self.page.evaluate("window.__notifications")


@pytest.fixture
async def open_inbox(browser: object, server: Server, request: pytest.FixtureRequest) -> AsyncIterator[object]:
    """open_inbox(person) signs `person` in through the sign-in form in a fresh browser context."""
    contexts: list[tuple[str, object]] = []
    script_errors: list[str] = []

    async def open_as(person: Person, path: str = "/") -> Inbox:
        context = await browser.new_context(base_url=server.url, permissions=["notifications"])
        await context.add_init_script(RECORD_NOTIFICATIONS)
        contexts.append((person.name, context))
        page = await context.new_page()
        page.on("pageerror", lambda error: script_errors.append(f"{person.name}: {error}"))
        page.set_default_timeout(8000)
        await page.goto(path)
        await page.get_by_label("API token").fill(person.token)
        await page.get_by_role("button", name="Sign in").click()
        await page.locator("#viewer-name", has_text=person.name).wait_for()
        inbox = Inbox(page, person)
        if await inbox.feature("live"):
            await page.locator("#live-status[data-status=live]").wait_for()
        return inbox

    yield open_as
    if request.node.stash.get(FAILED, False):
        ARTIFACTS.mkdir(exist_ok=True)
        for name, context in contexts:
            for number, page in enumerate(context.pages):
                slug = re.sub(r"[^\w.-]+", "_", f"{request.node.name}-{name}-{number}")
                await page.screenshot(path=str(ARTIFACTS / f"{slug}.png"), full_page=True)
    for _, context in contexts:
        await context.close()
    assert not script_errors, f"the page threw: {script_errors}"
