"""models/pg.py: a request's statements outside transactions share one pooled connection (issue 12)."""

from __future__ import annotations

import asyncio

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from models.pg import request_connection
from models.sql import fetch

BACKEND = "SELECT pg_backend_pid() AS pid"


async def _backend() -> int:
    rows = await fetch(BACKEND)
    return int(rows[0]["pid"])


async def test_a_requests_statements_share_one_connection_and_give_it_back(db: str) -> None:
    if db != "postgres":
        pytest.skip("PostgreSQL's client")
    pool = connections.get("default")._pool  # type: ignore[attr-defined]
    idle = pool.get_idle_size()

    async with request_connection():
        first = await _backend()
        # the planner runs a level's resolvers at once: they take turns on the one connection
        others = await asyncio.gather(*(_backend() for _ in range(5)))
        assert pool.get_idle_size() == idle - 1 or idle == 0

    assert set(others) == {first}
    assert pool.get_idle_size() >= idle  # given back when the request ends


async def test_a_transaction_in_a_request_gives_the_requests_connection_back_first(db: str) -> None:
    if db != "postgres":
        pytest.skip("PostgreSQL's client")
    pool = connections.get("default")._pool  # type: ignore[attr-defined]

    def in_use() -> int:
        return int(pool.get_size() - pool.get_idle_size())

    async with request_connection():
        await _backend()
        held = in_use()
        async with in_transaction():
            in_block = (await fetch("SELECT now() = statement_timestamp() AS fresh"))[0]["fresh"]
            during = in_use()
        await _backend()

    assert held == 1
    assert during == 1  # the transaction's own connection only: the request holds none while it runs
    assert in_block is False  # now() is the transaction's start: the statement ran inside it


async def test_requests_that_each_open_a_transaction_never_wait_on_each_other_for_connections(db: str) -> None:
    """More requests than the pool has connections, each reading then writing in a transaction: a
    request holding its connection while waiting for another would leave them all waiting."""
    if db != "postgres":
        pytest.skip("PostgreSQL's client")
    size = connections.get("default")._pool.get_max_size()  # type: ignore[attr-defined]

    async def request() -> None:
        async with request_connection():
            await _backend()
            await asyncio.sleep(0.01)  # all of them hold their connection at once
            async with in_transaction():
                await _backend()
            await _backend()

    await asyncio.wait_for(asyncio.gather(*(request() for _ in range(size * 3))), timeout=20)


async def test_a_task_the_request_started_keeps_no_connection_after_the_request_ends(db: str) -> None:
    """A task started inside a request inherits its context: once the request has ended, its
    statements take a pooled connection each and give it back, as outside any request."""
    if db != "postgres":
        pytest.skip("PostgreSQL's client")
    pool = connections.get("default")._pool  # type: ignore[attr-defined]
    go_on = asyncio.Event()

    async def later() -> None:
        await go_on.wait()
        await _backend()

    async with request_connection():
        await _backend()
        task = asyncio.create_task(later())
    go_on.set()
    await task

    assert pool.get_size() - pool.get_idle_size() == 0
