"""Test helpers: a GraphQL client over the real ASGI app, and ways to set up a team and its inbox."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from providers.api_channel import sign


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

    async def execute(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None) -> dict[str, Any]:
        """The whole GraphQL response: {"data": …, "errors": […]}."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        assert response.status_code in (200, 400), response.text
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None) -> dict[str, Any]:
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
        self, admin: Person, *, name: str = "Website chat", share_with: list[Person] = (), secret: str = "s3cret-s3cret-s3cret"
    ) -> ApiApp:
        data = await self.data(
            """mutation($input: InstallMessagingAppInput!) {
                 installMessagingApp(input: $input) { id webhookUrl }
               }""",
            {
                "input": {
                    "provider": "API",
                    "name": name,
                    "credentials": {"secret": secret, "deliveryUrl": "http://127.0.0.1:9/deliver"},
                    "shareWith": [person.id for person in share_with],
                }
            },
            token=admin.token,
        )
        app = data["installMessagingApp"]
        return ApiApp(self, app["id"], secret, app["webhookUrl"])


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

    async def receive(self, contact: str, text: str = "Hello", *, message_id: str | None = None, name: str | None = None) -> httpx.Response:
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


class QueryCounter(logging.Handler):
    """Counts the SQL statements Tortoise sends while installed."""

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
        return self

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger("tortoise.db_client")
        logger.removeHandler(self)
        logger.setLevel(self._level)

    @property
    def count(self) -> int:
        return len(self.statements)
