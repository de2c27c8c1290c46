"""A served app and a graphql-transport-ws client for real-time tests."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from settings import Settings

PROTOCOL = "graphql-transport-ws"
WAIT = 15.0

EVENTS = """subscription($after: String, $c: ID) {
  inboxEvents(after: $after, conversationId: $c) {
    cursor type conversationId occurredAt
    conversation { id status assignee { name } contact { externalId } lastMessage { text } }
    message { text direction }
    actor { name }
  }
}"""


@dataclass
class Server:
    host: str

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}/graphql"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}"


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Server]:
    """uvicorn on a free loopback port, in this event loop, with the app's lifespan (the hub)."""
    from app import create_app

    config = uvicorn.Config(
        create_app(settings, manage_database=False),
        host="127.0.0.1",
        port=0,
        lifespan="on",
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Server(f"127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await task


class Socket:
    """One graphql-transport-ws connection; messages are kept per operation id."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.inbox: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        self._ids = 0

    @classmethod
    @asynccontextmanager
    async def opened(
        cls, server: Server, token: str | None, *, payload: dict[str, Any] | None = None, **options: Any
    ) -> AsyncIterator[Socket]:
        """Connected and acknowledged (connection_init with {"authorization": "Bearer <token>"})."""
        async with connect(server.ws_url, subprotocols=[PROTOCOL], **options) as connection:  # type: ignore[list-item]
            socket = cls(connection)
            init = payload if payload is not None else {"authorization": f"Bearer {token}"}
            await socket.send({"type": "connection_init", "payload": init})
            ack = await socket.receive_control()
            assert ack["type"] == "connection_ack", ack
            yield socket

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def subscribe(self, query: str = EVENTS, variables: dict[str, Any] | None = None) -> str:
        self._ids += 1
        op_id = str(self._ids)
        await self.send({"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})
        return op_id

    async def _read(self) -> dict[str, Any]:
        message = json.loads(await asyncio.wait_for(self.connection.recv(), WAIT))
        if message["type"] == "ping":
            await self.send({"type": "pong"})
        return message

    async def receive_control(self) -> dict[str, Any]:
        while True:
            message = await self._read()
            if "id" in message:
                self.inbox[message["id"]].append(message)
            elif message["type"] not in ("ping", "pong"):
                return message

    async def message(self, op_id: str) -> dict[str, Any]:
        """The next message (next, error or complete) of operation `op_id`."""
        while not self.inbox[op_id]:
            message = await self._read()
            if "id" in message:
                self.inbox[message["id"]].append(message)
        return self.inbox[op_id].popleft()

    async def event(self, op_id: str) -> dict[str, Any]:
        """The next inboxEvents payload of `op_id` (fails on an error)."""
        message = await self.message(op_id)
        assert message["type"] == "next" and not message["payload"].get("errors"), message
        return message["payload"]["data"]["inboxEvents"]

    async def events(self, op_id: str, count: int) -> list[dict[str, Any]]:
        return [await self.event(op_id) for _ in range(count)]
