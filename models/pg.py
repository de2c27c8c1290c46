"""The PostgreSQL client (a Tortoise engine module): Tortoise's asyncpg client, whose statements
outside transactions share one pooled connection per request.

Tortoise takes a connection from the pool for every statement and gives it back with asyncpg's
reset, a round trip of its own: a section page's four statements paid four acquisitions and four
resets (issue 12). Inside `request_connection()` (the GraphQL view opens one per HTTP request) the
first statement takes a connection from the pool, the request's later statements use it in turn
(a lock: the planner runs a level's resolvers at once), and it goes back to the pool when the
request ends. A transaction still takes a connection of its own, and the request's goes back to
the pool first: a request never holds one connection while it waits for another, so requests
cannot exhaust the pool waiting on each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.base.client import TransactionalDBClient, TransactionContext


class _RequestConnection:
    """The connection a request's statements share; taken from the pool at its first statement."""

    __slots__ = ("connection", "ended", "lock", "pool")

    def __init__(self) -> None:
        self.pool: Any = None
        self.connection: asyncpg.Connection | None = None
        self.lock = asyncio.Lock()
        # A task the request started keeps its context, this included, after the request ends: its
        # statements then take the pool's connections one at a time again, and none is kept.
        self.ended = False

    async def give_back(self) -> None:
        async with self.lock:
            if self.connection is not None:
                connection, self.connection = self.connection, None
                await self.pool.release(connection)


_request: ContextVar[_RequestConnection | None] = ContextVar("request_connection", default=None)


@asynccontextmanager
async def request_connection() -> AsyncIterator[None]:
    """The statements run inside (outside transactions) share one connection, given back at the end."""
    held = _RequestConnection()
    token = _request.set(held)
    try:
        yield
    finally:
        _request.reset(token)
        held.ended = True
        await held.give_back()


class _Using:
    """`acquire_connection()`'s context for a statement inside `request_connection()`."""

    __slots__ = ("client", "held")

    def __init__(self, client: RequestScopedClient, held: _RequestConnection) -> None:
        self.client = client
        self.held = held

    async def __aenter__(self) -> asyncpg.Connection:
        held = self.held
        await held.lock.acquire()
        try:
            if held.connection is None:
                if not self.client._pool:
                    await self.client.create_connection(with_db=True)
                held.pool = self.client._pool
                held.connection = await held.pool.acquire()
        except BaseException:
            held.lock.release()
            raise
        return held.connection

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        held = self.held
        try:
            connection = held.connection
            broken = exc_type is not None and connection is not None and connection.is_closed()
            if connection is not None and (broken or held.ended):
                held.connection = None  # broken, the pool replaces it; or the request has ended meanwhile
                await held.pool.release(connection)
        finally:
            held.lock.release()


class _GivingBack(TransactionContext):
    """A transaction opened inside `request_connection()`: the request's connection goes back first."""

    __slots__ = ("held", "inner")

    def __init__(self, held: _RequestConnection, inner: TransactionContext) -> None:
        self.held = held
        self.inner = inner
        self.client = inner.client

    async def __aenter__(self) -> TransactionalDBClient:
        await self.held.give_back()
        return await self.inner.__aenter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.inner.__aexit__(exc_type, exc, tb)


class RequestScopedClient(AsyncpgDBClient):
    def acquire_connection(self) -> Any:
        held = _request.get()
        if held is None or held.ended:
            return super().acquire_connection()
        return _Using(self, held)

    def _in_transaction(self) -> TransactionContext:
        inner = super()._in_transaction()
        held = _request.get()
        return inner if held is None or held.ended else _GivingBack(held, inner)


client_class = RequestScopedClient
