"""Test helpers: a GraphQL client over the real ASGI app, and ways to set up a team and its inbox."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from providers.api_channel import sign

# Every (document, variables) the suite's Api clients sent, in order (tests/schema/test_planner.py reads it).
SENT: list[tuple[str, dict[str, Any]]] = []


def differential_applies(query: str) -> bool:
    """Whether a document only reads (its operations are all queries): those are run by both
    executors. Mutations change the data, so the second run would not see the same rows."""
    from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse

    try:
        document = parse(query)
    except GraphQLError:
        return True
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return bool(operations) and all(op.operation is OperationType.QUERY for op in operations)


def _unmasked(body: bytes) -> bytes:
    """The body with masked errors' request ids (random per request) made equal."""
    return re.sub(rb"request id [0-9a-f]+|\"requestId\":\"[0-9a-f]+\"", b"<request id>", body)


class GraphQLFailed(AssertionError):
    pass


@dataclass
class Person:
    id: str
    token: str
    name: str


class Api:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://inbox.example.test")

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def execute(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """The whole GraphQL response: {"data": …, "errors": […]}. A query is also run by the
        reference executor against the same data, and both answers must be the same bytes."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = {"query": query, "variables": variables or {}}
        response = await self.http.post("/graphql", json=body, headers=headers)
        assert response.status_code in (200, 400), response.text
        SENT.append((query, variables or {}))
        if differential_applies(query) and not QueryCounter.installed:
            from schema.planner import reference_only

            marker = reference_only.set(True)
            try:
                reference = await self.http.post("/graphql", json=body, headers=headers)
            finally:
                reference_only.reset(marker)
            assert (response.status_code, _unmasked(response.content)) == (
                reference.status_code,
                _unmasked(reference.content),
            ), (
                f"the planner and the reference executor differ on\n{query}\n{variables}\n"
                f"planner:   {response.content!r}\nreference: {reference.content!r}"
            )
        return response.json()

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """The data of a query expected to succeed."""
        result = await self.execute(query, variables, token=token)
        if result.get("errors"):
            raise GraphQLFailed(json.dumps(result["errors"], indent=2))
        return result["data"]

    async def error_code(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None) -> str:
        """The `extensions.code` of a query expected to fail."""
        result = await self.execute(query, variables, token=token)
        assert result.get("errors"), f"expected an error, got {result}"
        return result["errors"][0]["extensions"]["code"]

    # ---- setting up a team

    async def create_account(self, name: str = "Acme", admin_name: str = "Ana Admin") -> Person:
        from resolvers.ids import to_api_id
        from resolvers.users import create_account

        _, admin = await create_account(name, admin_name, f"{admin_name.split()[0].lower()}@{name.lower()}.test")
        return Person(to_api_id("User", admin.user.id), admin.token, admin.user.name)

    async def create_user(self, admin: Person, name: str, role: str = "MEMBER") -> Person:
        data = await self.data(
            "mutation($n: String!, $e: String!, $r: Role) { createUser(name: $n, email: $e, role: $r) { user { id name } token } }",
            {"n": name, "e": f"{name.split()[0].lower()}.{admin.id[-4:].lower()}@team.test", "r": role},
            token=admin.token,
        )
        created = data["createUser"]
        return Person(created["user"]["id"], created["token"], created["user"]["name"])

    async def install_api_app(
        self,
        admin: Person,
        *,
        name: str = "Website chat",
        share_with: list[Person] = (),
        secret: str = "s3cret-s3cret-s3cret",
        delivery_url: str = "http://127.0.0.1:9/deliver",
    ) -> ApiApp:
        data = await self.data(
            """mutation($input: InstallMessagingAppInput!) {
                 installMessagingApp(input: $input) { id webhookUrl }
               }""",
            {
                "input": {
                    "provider": "API",
                    "name": name,
                    "credentials": {"secret": secret, "deliveryUrl": delivery_url},
                    "shareWith": [person.id for person in share_with],
                }
            },
            token=admin.token,
        )
        app = data["installMessagingApp"]
        return ApiApp(self, app["id"], secret, app["webhookUrl"])

    async def create_team(self) -> Team:
        """Ana (ADMIN, installer), Bob and Carol (MEMBERs), and an API app shared with all three."""
        admin = await self.create_account()
        bob = await self.create_user(admin, "Bob Member")
        carol = await self.create_user(admin, "Carol Member")
        app = await self.install_api_app(admin, share_with=[bob, carol])
        return Team(admin, bob, carol, app)

    async def create_team_with_conversation(self, contact: str = "cust") -> tuple[Team, str]:
        """`create_team`, then `contact` writes in: the team and the id of that open, unassigned conversation."""
        team = await self.create_team()
        await team.app.receive(contact)
        return team, await team.app.conversation_id(contact)

    # ---- reading the inbox as a user sees it

    async def section(
        self,
        person: Person,
        section: str,
        *,
        app_id: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> dict[str, Any]:
        """The `conversations` connection of `section` for `person` (SECTION_PAGE's fields)."""
        variables = {"s": section, "app": app_id, "first": first, "after": after}
        return (await self.data(SECTION_PAGE, variables, token=person.token))["conversations"]

    async def contacts_in(self, person: Person, section: str, *, app_id: str | None = None) -> list[str]:
        """The contacts' external ids of the section's first 100 conversations, in the order shown."""
        page = await self.section(person, section, app_id=app_id, first=100)
        return [edge["node"]["contact"]["externalId"] for edge in page["edges"]]


@dataclass
class Team:
    admin: Person
    bob: Person
    carol: Person
    app: ApiApp


@dataclass
class ApiApp:
    """An installed generic-API-channel app, with a way to post signed inbound messages to it."""

    api: Api
    id: str
    secret: str
    webhook_url: str

    async def post(self, body: bytes, *, signature: str | None = None) -> httpx.Response:
        headers = {"Content-Type": "application/json", "X-Switchboard-Signature": signature or sign(self.secret, body)}
        return await self.api.http.post(f"/webhooks/api/{self.id}", content=body, headers=headers)

    async def post_status(self, body: bytes) -> httpx.Response:
        """A signed delivery-status callback (docs/providers.md: POST /webhooks/api/{appId}/status)."""
        headers = {"Content-Type": "application/json", "X-Switchboard-Signature": sign(self.secret, body)}
        return await self.api.http.post(f"/webhooks/api/{self.id}/status", content=body, headers=headers)

    async def receive(
        self, contact: str, text: str = "Hello", *, message_id: str | None = None, name: str | None = None
    ) -> httpx.Response:
        """A contact writes in; returns the webhook's answer (asserted 200)."""
        self._counter = getattr(self, "_counter", 0) + 1
        payload = {
            "messageId": message_id or f"{contact}-{self._counter}-{text[:10]}",
            "sender": {"id": contact, **({"name": name} if name else {})},
            "text": text,
        }
        response = await self.post(json.dumps(payload).encode())
        assert response.status_code == 200, response.text
        return response

    async def conversation_id(self, contact: str) -> str:
        """The API id of this app's conversation with `contact` (set-up only: users find it in a section)."""
        from models import Conversation
        from resolvers.ids import pk_of, to_api_id

        row = await Conversation.get(app_id=pk_of("MessagingApp", self.id), contact__external_id=contact)
        return to_api_id("Conversation", row.id)


SECTION_PAGE = """query($s: Section!, $app: ID, $first: Int, $after: String) {
  conversations(section: $s, appId: $app, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id status section lastMessageAt contact { externalId } assignee { id } } } } }"""
CONVERSATION_FIELDS = "id status section assignee { id } lastMessage { text }"
ASSIGN = f"mutation($id: ID!, $u: ID!) {{ assignConversation(id: $id, userId: $u) {{ {CONVERSATION_FIELDS} }} }}"
UNASSIGN = f"mutation($id: ID!) {{ unassignConversation(id: $id) {{ {CONVERSATION_FIELDS} }} }}"
CLOSE = f"mutation($id: ID!) {{ closeConversation(id: $id) {{ {CONVERSATION_FIELDS} }} }}"
REOPEN = f"mutation($id: ID!) {{ reopenConversation(id: $id) {{ {CONVERSATION_FIELDS} }} }}"
DELETE = "mutation($id: ID!) { deleteConversation(id: $id) }"
SET_AVAILABILITY = "mutation($a: Boolean!) { setAvailability(available: $a) { id available } }"


def postgres_only(db: str, database: str) -> str:
    """The PostgreSQL URL; skips the SQLite variant (one write transaction at a time: nothing to interleave)."""
    if db != "postgres":
        pytest.skip("SQLite runs one write transaction at a time: the interleaving cannot be forced")
    return database


async def interleaved_writers(
    database_url: str, conversation_id: str, writers: list[Coroutine[Any, Any, Any]]
) -> list[Any]:
    """PostgreSQL: runs `writers` while another connection holds the conversation's row lock, and
    releases it only once every writer waits for it, so all of them have read the conversation before
    any writes: the interleaving a lost update needs, forced instead of hoped for. Their results."""
    from resolvers.ids import pk_of

    lock = "SELECT 1 FROM conversation WHERE id = $1 FOR UPDATE"
    return await queued_behind(database_url, (lock, pk_of("Conversation", conversation_id)), writers)


async def queued_behind(database_url: str, lock: tuple[Any, ...], writers: list[Coroutine[Any, Any, Any]]) -> list[Any]:
    """PostgreSQL: runs `writers` while another connection holds `lock` (a statement taking a lock,
    then its arguments), and releases it only once every writer waits on a lock: each has read what
    it reads before any writes. A writer that never waits (it takes no lock) fails the test with a
    timeout. Their results."""
    holder = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    running: list[asyncio.Future[Any]] = []
    try:
        async with holder.transaction():
            await holder.execute(*lock)
            running.extend(asyncio.ensure_future(writer) for writer in writers)
            waiting = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            async with asyncio.timeout(10):
                while await holder.fetchval(waiting) < len(running):
                    await asyncio.sleep(0.01)  # polling for the writers to queue, not waiting for time
                    await holder.execute("SELECT pg_stat_clear_snapshot()")  # else frozen for the transaction
        return await asyncio.gather(*running)
    finally:
        for task in running:
            task.cancel()  # only those still waiting, after a failure
        await holder.close()


class QueryCounter(logging.Handler):
    """Counts the SQL statements Tortoise sends while installed."""

    installed = 0  # while any is, Api does not run queries a second time (by the reference executor)

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.startswith(("Created connection", "Closed connection")):
            self.statements.append(message)

    def __enter__(self) -> QueryCounter:
        logger = logging.getLogger("tortoise.db_client")
        self._level = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(self)
        QueryCounter.installed += 1
        return self

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger("tortoise.db_client")
        logger.removeHandler(self)
        logger.setLevel(self._level)
        QueryCounter.installed -= 1

    @property
    def count(self) -> int:
        return len(self.statements)
