"""GraphiQL at /graphql in a real browser that can reach nothing but loopback: it loads from the
server's own files, runs queries and subscriptions with the token from its Headers tab, and keeps
that token out of localStorage unless the admin asks for it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import pytest
from playwright.async_api import expect

from resolvers.clock import ManualClock
from settings import Settings
from tests.support import Person
from tests.web.conftest import LoopbackApi, Server, serve

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database", ["sqlite"], indirect=True)]

LOOPBACK = "127.0.0.1"
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
RESPONSE = ".graphiql-response .result-window"


@dataclass
class GraphiQLTab:
    """One browser tab on /graphql, recording every request that was not for loopback (and
    refusing it: the machine is offline as far as the page is concerned) and what the page logged."""

    page: object
    elsewhere: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    async def open(self, path: str = "/graphql") -> None:
        await self.page.goto(path)
        await self.page.locator(QUERY_EDITOR).wait_for()

    async def write(self, editor: str, text: str) -> None:
        await self.page.locator(editor).wait_for()
        await self.page.evaluate(
            "([selector, text]) => document.querySelector(selector).CodeMirror.setValue(text)", [editor, text]
        )

    async def run(self, query: str, person: Person) -> None:
        await self.write(QUERY_EDITOR, query)
        # GraphiQL parses the query a moment after each edit (debounced); it sends what it parsed.
        await self.page.wait_for_function(
            "([selector, text]) => { const ast = document.querySelector(selector).CodeMirror.documentAST; return ast && ast.loc.source.body === text; }",
            arg=[QUERY_EDITOR, query],
        )
        await self.write(HEADERS_EDITOR, json.dumps({"Authorization": f"Bearer {person.token}"}))
        await self.page.locator(".graphiql-execute-button").click()

    async def local_storage(self) -> dict[str, str]:
        return await self.page.evaluate("() => Object.assign({}, window.localStorage)")

    def response(self) -> object:
        return self.page.locator(RESPONSE)


@pytest.fixture
def base_url(server: Server) -> str:
    return server.url


@pytest.fixture
async def graphiql(browser: object, base_url: str) -> AsyncIterator[GraphiQLTab]:
    context = await browser.new_context(base_url=base_url)
    tab = GraphiQLTab(await context.new_page())

    async def loopback_only(route: object) -> None:
        if urlsplit(route.request.url).hostname == LOOPBACK:
            await route.continue_()
        else:
            tab.elsewhere.append(route.request.url)
            await route.abort("internetdisconnected")

    await context.route("**/*", loopback_only)
    tab.page.on(
        "websocket",
        lambda socket: None if urlsplit(socket.url).hostname == LOOPBACK else tab.elsewhere.append(socket.url),
    )
    tab.page.on("console", lambda message: tab.console.append(f"{message.type}: {message.text}"))
    tab.page.on("pageerror", lambda error: tab.console.append(f"pageerror: {error}"))
    tab.page.set_default_timeout(10_000)
    yield tab
    await context.close()


async def test_graphiql_loads_offline_runs_a_query_and_keeps_no_token(graphiql: GraphiQLTab, server: Server) -> None:
    # given an admin, and a browser where an earlier GraphiQL page had stored that admin's token
    ana = await server.api.create_account("Acme", "Ana Admin")
    await graphiql.page.goto("/healthz")
    await graphiql.page.evaluate(
        "token => localStorage.setItem('graphiql:headers', JSON.stringify({Authorization: 'Bearer ' + token}))",
        ana.token,
    )

    # when the admin opens GraphiQL and runs a query with the token in the Headers tab
    await graphiql.open()
    await expect(graphiql.page.locator("#graphiql")).not_to_contain_text("Loading…")
    await graphiql.page.get_by_label("Open settings dialog").click()
    await graphiql.page.keyboard.press("Escape")
    await graphiql.page.get_by_label("Show Documentation Explorer").click()
    await expect(graphiql.page.locator(".graphiql-doc-explorer")).to_contain_text("Subscription")
    await graphiql.run("{ viewer { name role } }", ana)

    # then the answer shows, nothing was asked of any host but this one, the page's policy refused
    # nothing, and no token is left in localStorage
    await expect(graphiql.response()).to_contain_text(ana.name)
    await expect(graphiql.response()).to_contain_text("ADMIN")
    assert graphiql.elsewhere == []
    assert not [line for line in graphiql.console if "Content Security Policy" in line or line.startswith("pageerror")]
    assert ana.token not in json.dumps(await graphiql.local_storage())


async def test_graphiql_subscription_receives_events_over_the_websocket(graphiql: GraphiQLTab, server: Server) -> None:
    # given an admin with an app, and GraphiQL subscribed to inboxEvents (after the newest event,
    # so nothing is missed while the socket opens) with the admin's token
    ana = await server.api.create_account("Acme", "Ana Admin")
    app = await server.api.install_api_app(ana)
    cursor = (await server.api.data("{ inboxEventCursor }", token=ana.token))["inboxEventCursor"]
    await graphiql.open()
    sockets: list[str] = []
    graphiql.page.on("websocket", lambda socket: sockets.append(socket.url))
    await graphiql.run(f'subscription {{ inboxEvents(after: "{cursor}") {{ type message {{ text }} }} }}', ana)

    # when a contact writes in
    await app.receive("cust-1", "Hello from the offline room")

    # then the event shows in GraphiQL's response, delivered over this server's WebSocket
    await expect(graphiql.response()).to_contain_text("Hello from the offline room")
    assert [urlsplit(url).hostname for url in sockets] == [LOOPBACK]
    assert graphiql.elsewhere == []


async def test_graphiql_remembers_the_token_only_while_remember_is_ticked(
    graphiql: GraphiQLTab, server: Server
) -> None:
    # given an admin who ran a query in GraphiQL
    ana = await server.api.create_account("Acme", "Ana Admin")
    await graphiql.open()
    await graphiql.run("{ viewer { name } }", ana)
    await expect(graphiql.response()).to_contain_text(ana.name)
    remember = graphiql.page.get_by_label("Remember tabs and headers (your token) in this browser")

    # when the admin ticks "Remember" and reloads the page, then unticks it
    await remember.check()
    # (GraphiQL saves its tabs, headers included, half a second after the last edit)
    await graphiql.page.wait_for_function(
        "token => (localStorage.getItem('graphiql:tabState') || '').includes(token)", arg=ana.token
    )
    await graphiql.page.reload()
    await expect(remember).to_be_checked()
    await expect(graphiql.page.locator(HEADERS_EDITOR)).to_contain_text(ana.token)
    await remember.uncheck()

    # then the token, kept across the reload while ticked, is gone from the browser's storage
    assert ana.token not in json.dumps(await graphiql.local_storage())
    await graphiql.page.reload()
    await expect(graphiql.page.locator(HEADERS_EDITOR)).not_to_contain_text(ana.token)


class TestInProduction:
    """Production answers introspection to signed-in users only."""

    @pytest.fixture
    async def production(self, db: str, clock: ManualClock, test_settings: Settings) -> AsyncIterator[str]:
        from app import create_app

        settings = replace(test_settings, env="production", secret_key="a-production-secret-for-this-test")
        async with serve(create_app(settings, clock=clock, manage_database=False), settings) as url:
            yield url

    @pytest.fixture
    def base_url(self, production: str) -> str:
        return production

    async def test_graphiql_docs_load_once_the_token_is_in_headers(
        self, graphiql: GraphiQLTab, production: str
    ) -> None:
        # given an admin on GraphiQL in production (remembering headers, so the test can see when
        # GraphiQL took the edit in), where the schema could not be read anonymously
        async with LoopbackApi(production) as api:
            ana = await api.create_account("Acme", "Ana Admin")
        await graphiql.open("/graphql?persist=1")
        await expect(graphiql.response()).to_contain_text("UNAUTHENTICATED")

        # when the admin puts the token in the Headers tab and re-fetches the schema
        await graphiql.write(HEADERS_EDITOR, json.dumps({"Authorization": f"Bearer {ana.token}"}))
        await graphiql.page.wait_for_function(
            "token => (localStorage.getItem('graphiql:headers') || '').includes(token)", arg=ana.token
        )
        await graphiql.page.get_by_label("Re-fetch GraphQL schema").click()
        await graphiql.page.get_by_label("Show Documentation Explorer").click()

        # then the docs show the schema
        await expect(graphiql.page.locator(".graphiql-doc-explorer")).to_contain_text("Subscription")
