"""A served app and a graphql-transport-ws client for real-time tests (the `server` fixture, tests/conftest.py)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from settings import Settings

PROTOCOL = "graphql-transport-ws"
SESSION_CHANNEL = f"sb-test-{os.getpid()}-{secrets.token_hex(4)}:events"
ALLOWED_ORIGIN = "https://app.example.test"
WAIT = 15.0
LONG = 60.0  # a re-check interval no test outlives: what closes the socket then is not the periodic check

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
    from schema.frames import BroadcastWebSockets

    config = uvicorn.Config(
        create_app(settings, manage_database=False),
        host="127.0.0.1",
        port=0,
        lifespan="on",
        ws=BroadcastWebSockets,  # as `switchboard serve` (app.server_options)
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


class StalledSocket:
    """A raw WebSocket client that stops reading after subscribing (its kernel buffer is tiny),
    so the server's writes back up; `messages()` then reads what the server did send."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def subscribe(cls, server: Server, token: str, query: str) -> StalledSocket:
        import base64
        import os
        import socket as sockets

        raw = sockets.socket(sockets.AF_INET, sockets.SOCK_STREAM)
        raw.setsockopt(sockets.SOL_SOCKET, sockets.SO_RCVBUF, 4096)
        host, port = server.host.split(":")
        raw.setblocking(False)
        await asyncio.get_running_loop().sock_connect(raw, (host, int(port)))
        reader, writer = await asyncio.open_connection(sock=raw, limit=2**24)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /graphql HTTP/1.1\r\nHost: {server.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {PROTOCOL}\r\n\r\n"
            ).encode()
        )
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        stalled = cls(reader, writer)
        stalled.send({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert (await stalled.read())["type"] == "connection_ack"
        stalled.send({"id": "1", "type": "subscribe", "payload": {"query": query}})
        reader._transport.pause_reading()  # type: ignore[attr-defined]
        return stalled

    def send(self, message: dict[str, Any]) -> None:
        import os

        data = json.dumps(message).encode()
        mask = os.urandom(4)
        header = bytes([0x81]) + (
            bytes([0x80 | len(data)]) if len(data) < 126 else bytes([0x80 | 126]) + len(data).to_bytes(2, "big")
        )
        self.writer.write(header + mask + bytes(byte ^ mask[i % 4] for i, byte in enumerate(data)))

    async def read(self) -> dict[str, Any]:
        while True:
            first, second = await asyncio.wait_for(self.reader.readexactly(2), WAIT)
            length = second & 0x7F
            if length == 126:
                length = int.from_bytes(await self.reader.readexactly(2), "big")
            elif length == 127:
                length = int.from_bytes(await self.reader.readexactly(8), "big")
            payload = await self.reader.readexactly(length)
            if first & 0x0F == 0x1:
                message: dict[str, Any] = json.loads(payload)
                if message["type"] not in ("ping", "pong"):  # keep-alives can sit among the backlog
                    return message

    def resume(self) -> None:
        self.reader._transport.resume_reading()  # type: ignore[attr-defined]

    async def read_until_ended(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Resumes reading; the `next` messages up to and with the one carrying errors, and the message after it."""
        self.resume()
        messages = [await self.read()]
        while messages[-1]["type"] == "next" and not messages[-1]["payload"].get("errors"):
            messages.append(await self.read())
        return messages, await self.read()

    def close(self) -> None:
        self.writer.close()


class RecheckOutOfTheWay:
    """For a test class on a `server`: the periodic re-check of open sockets never comes, so whatever closes
    a socket (or keeps it open) is the test's own doing."""

    @pytest.fixture
    def server_settings(self, server_settings: Settings) -> Settings:
        return replace(server_settings, websocket_recheck_seconds=LONG)
