"""Group commit of webhooks (resolvers/ingest.py, docs/DESIGN.md "The path of a webhook"): concurrent
webhooks share one transaction, each answered 200 only after its COMMIT; the rules hold as for one
message at a time (R-NEW, R-IDEMPOTENT); a server killed mid-batch leaves every 200'd message stored
and nothing half-written. PostgreSQL: SQLite writes a batch of one, nothing to batch or interleave."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from models import Contact, Conversation, InboxEvent, InboxEventType, Message
from models.sql import AdvisoryLock
from providers.api_channel import sign
from resolvers.clock import ManualClock
from resolvers.ids import pk_of
from settings import Settings, use_settings
from tests.conftest import POSTGRES_URL, require
from tests.processes import PostgresDatabase, command_env, create_acme, switchboard
from tests.support import Api, ApiApp, QueryCounter, postgres_only

WAITING = "SELECT count(*) FROM pg_locks WHERE NOT granted"


def message(message_id: str, contact: str, text: str = "Hello") -> bytes:
    return json.dumps({"messageId": message_id, "sender": {"id": contact}, "text": text}).encode()


@asynccontextmanager
async def batching(clock: ManualClock, test_settings: Settings, size: int) -> AsyncIterator[Api]:
    """The app in-process, closing a batch at `size` webhooks (and not before, for 10 s)."""
    from app import create_app

    settings = dataclasses.replace(test_settings, ingest_batch_size=size, ingest_batch_ms=10_000)
    try:
        async with Api(create_app(settings, clock=clock, manage_database=False)) as api:
            yield api
    finally:
        use_settings(test_settings)


@asynccontextmanager
async def commits_held(database: str) -> AsyncIterator[asyncpg.Connection]:
    """Holds the event-order lock from another connection: a batch then waits just before its COMMIT
    (its events are its last statement) until the block ends."""
    holder = await asyncpg.connect(database.replace("postgres://", "postgresql://", 1))
    try:
        async with holder.transaction():
            await holder.execute("SELECT pg_advisory_xact_lock($1)", AdvisoryLock.EVENT_ORDER)
            yield holder
    finally:
        await holder.close()


async def until_waiting(holder: asyncpg.Connection, waiters: int) -> None:
    async with asyncio.timeout(10):
        while await holder.fetchval(WAITING) < waiters:  # noqa: ASYNC110  # another connection's lock queue: no event to wait on
            await asyncio.sleep(0.01)


def deliveries(app: ApiApp, bodies: list[bytes]) -> list[asyncio.Task[httpx.Response]]:
    async def post(raw: bytes) -> httpx.Response:
        return await app.post(raw)

    return [asyncio.ensure_future(post(raw)) for raw in bodies]


def batches(counter: QueryCounter) -> int:
    """How many batches were written: each inserts its messages in one statement."""
    return sum(statement.startswith("INSERT INTO message ") for statement in counter.statements)


async def delivered_together(
    clock: ManualClock, test_settings: Settings, bodies: list[bytes]
) -> tuple[ApiApp, list[httpx.Response], int]:
    """`bodies` posted at once to a new team's API app, batches closing at as many webhooks: the app,
    the answers, and how many batches were written."""
    async with batching(clock, test_settings, size=len(bodies)) as api:
        team = await api.create_team()
        with QueryCounter() as counter:
            responses = await asyncio.gather(*deliveries(team.app, bodies))
    return team.app, responses, batches(counter)


async def test_several_concurrent_webhooks_land_in_one_batch_and_each_is_answered_only_once_stored(
    db: str, database: str, clock: ManualClock, test_settings: Settings
) -> None:
    url = postgres_only(db, database)
    async with batching(clock, test_settings, size=5) as api:
        team = await api.create_team()
        bodies = [message(f"m-{n}", f"contact-{n}") for n in range(5)]

        # given a batch's COMMIT held back
        with QueryCounter() as counter:
            async with commits_held(url) as holder:
                # when five webhooks arrive at once
                answers = deliveries(team.app, bodies)
                await until_waiting(holder, 1)

                # then none is answered while its batch is not committed, and nothing is visible yet
                await asyncio.sleep(0.2)
                assert not any(answer.done() for answer in answers)
                assert await holder.fetchval("SELECT count(*) FROM message") == 0
            responses = await asyncio.gather(*answers)

    # and once it commits, each is answered 200 and stored, all five in one batch
    assert [response.status_code for response in responses] == [200] * 5
    assert await Message.filter(app_id=pk_of("MessagingApp", team.app.id)).count() == 5
    assert batches(counter) == 1


async def test_r_idempotent_duplicates_within_one_batch_are_stored_once(
    db: str, database: str, clock: ManualClock, test_settings: Settings
) -> None:
    postgres_only(db, database)
    # when the same message is delivered four times at once, into one batch
    app, responses, written = await delivered_together(clock, test_settings, [message("m-1", "carla")] * 4)

    # then every delivery is answered 200, one stored it and three were duplicates
    assert [response.status_code for response in responses] == [200] * 4
    assert sorted(response.json()["duplicate"] for response in responses) == [False, True, True, True]
    assert written == 1
    app_pk = pk_of("MessagingApp", app.id)
    assert await Message.filter(app_id=app_pk).count() == 1
    assert await InboxEvent.filter(app_id=app_pk, type=InboxEventType.MESSAGE_RECEIVED).count() == 1


async def test_r_new_concurrent_first_messages_from_one_contact_in_one_batch_share_one_conversation(
    db: str, database: str, clock: ManualClock, test_settings: Settings
) -> None:
    postgres_only(db, database)
    # when a new contact's first four messages arrive at once, into one batch
    bodies = [message(f"m-{n}", "carla") for n in range(4)]
    app, responses, written = await delivered_together(clock, test_settings, bodies)

    # then they are in one conversation, created once
    assert [response.status_code for response in responses] == [200] * 4
    assert written == 1
    await _one_conversation_holding(app, "carla", 4)


async def test_r_new_concurrent_first_messages_from_one_contact_across_batches_share_one_conversation(
    db: str, database: str, clock: ManualClock, test_settings: Settings
) -> None:
    url = postgres_only(db, database)
    async with batching(clock, test_settings, size=2) as api:
        team = await api.create_team()

        # given the first batch's COMMIT held back
        with QueryCounter() as counter:
            async with commits_held(url) as holder:
                # when a new contact's first four messages arrive at once, in two batches written together
                answers = deliveries(team.app, [message(f"m-{n}", "carla") for n in range(4)])
                # the first batch waits for the lock, the second for the contact the first created
                await until_waiting(holder, 2)
            responses = await asyncio.gather(*answers)

    # then all four are in one conversation, created once
    assert [response.status_code for response in responses] == [200] * 4
    assert batches(counter) == 2
    await _one_conversation_holding(team.app, "carla", 4)


async def _one_conversation_holding(app: ApiApp, contact: str, messages: int) -> None:
    app_pk = pk_of("MessagingApp", app.id)
    (conversation,) = await Conversation.filter(app_id=app_pk)
    assert (await Contact.get(id=conversation.contact_id)).external_id == contact
    assert await Message.filter(conversation_id=conversation.id).count() == messages
    created = InboxEvent.filter(conversation_id=conversation.id, type=InboxEventType.CONVERSATION_CREATED)
    assert await created.count() == 1


# ---- a server killed mid-batch


INSTALL = "mutation($input: InstallMessagingAppInput!) { installMessagingApp(input: $input) { id } }"
SECRET = "a-secret-of-16-chars"
CHAT_APP = {"provider": "API", "name": "Chat", "credentials": {"secret": SECRET, "deliveryUrl": "http://127.0.0.1:9/x"}}


@pytest.mark.postgres
async def test_a_server_killed_mid_batch_keeps_every_200_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    """A real server process on its own PostgreSQL database, killed (SIGKILL) while a batch waits
    for its COMMIT."""
    require(POSTGRES_URL, "SWITCHBOARD_TEST_POSTGRES_URL")
    database = PostgresDatabase(POSTGRES_URL)
    await database.create()
    try:
        env = command_env(database.url, INGEST_BATCH_MS="20")
        token = create_acme(env, tmp_path)["token"]
        with switchboard("serve", env=env, cwd=tmp_path) as server:
            async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as http:
                installed = await http.post("/graphql", json={"query": INSTALL, "variables": {"input": CHAT_APP}})
                app_id = installed.json()["data"]["installMessagingApp"]["id"]

                async def deliver(message_id: str, contact: str) -> httpx.Response | None:
                    raw = message(message_id, contact)
                    headers = {"X-Switchboard-Signature": sign(SECRET, raw)}
                    try:
                        return await http.post(f"/webhooks/api/{app_id}", content=raw, headers=headers, timeout=30)
                    except httpx.TransportError:
                        return None  # the server died before answering

                # given messages answered before the kill (new contacts and a returning one)
                before = [(f"before-{n}", f"contact-{n % 7}") for n in range(30)]
                answered = await asyncio.gather(*(deliver(*sent) for sent in before))
                assert all(response is not None and response.status_code == 200 for response in answered)

                # when the server is killed while a batch of new messages waits for its COMMIT
                during = [(f"during-{n}", f"contact-{n % 11}") for n in range(20)]
                async with commits_held(database.url) as holder:
                    pending: list[Awaitable[httpx.Response | None]] = [
                        asyncio.ensure_future(deliver(*sent)) for sent in during
                    ]
                    await until_waiting(holder, 1)
                    os.killpg(server.process.pid, signal.SIGKILL)
                    server.process.wait()
                killed = await asyncio.gather(*pending)

        # then every message answered 200 is stored, and none of those the kill cut off is
        assert all(response is None for response in killed)
        rows = await _rows(database.url)
        assert sorted(rows["messages"]) == sorted(message_id for message_id, _ in before)
        # and nothing is half-written: every stored message is in its conversation with its event,
        # every contact has its conversation, every conversation its CONVERSATION_CREATED
        assert rows["unplaced"] == 0
        assert rows["received"] == len(before)
        assert rows["contacts"] == rows["conversations"] == rows["created"] == 7
    finally:
        await database.drop()


async def _rows(url: str) -> dict[str, Any]:
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        return {
            "messages": [row[0] for row in await connection.fetch("SELECT provider_message_id FROM message")],
            "unplaced": await connection.fetchval("SELECT count(*) FROM message WHERE conversation_id IS NULL"),
            "received": await connection.fetchval(
                "SELECT count(*) FROM inbox_event e JOIN message m ON m.id = e.message_id WHERE e.type = $1",
                InboxEventType.MESSAGE_RECEIVED.value,
            ),
            "contacts": await connection.fetchval("SELECT count(*) FROM contact"),
            "conversations": await connection.fetchval("SELECT count(*) FROM conversation"),
            "created": await connection.fetchval(
                "SELECT count(*) FROM inbox_event WHERE type = $1", InboxEventType.CONVERSATION_CREATED.value
            ),
        }
    finally:
        await connection.close()
