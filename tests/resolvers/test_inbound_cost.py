"""What one inbound message costs in SQL statements (docs/DESIGN.md §5, inbound webhooks), pinned so the
shared inbound path cannot silently grow back. Through the API channel webhook; the app is shared
with three members (each gets a notification row, R-NOTIFY), the conversation is not linked (R-NOTE).

On SQLite a webhook is a batch of one through `resolvers/messages.receive_message`, one statement per
row. On PostgreSQL it joins a batch (`resolvers/ingest.py`) written set-based: each step is one
statement for the whole batch whatever its size (`resolvers/inbound_batch.py`), so a lone message
costs fewer statements than before (14 → 7 for a first message, 11 → 7 on an existing
conversation, 3 → 2 for a duplicate) and a batch of 64 costs the same 7."""

import asyncio

import asyncpg

from models import InboxEvent, Message, Notification
from models.sql import AdvisoryLock
from resolvers.ids import pk_of
from tests.support import Api, ApiApp, QueryCounter, postgres_only

SHARED = {
    "the app with its credentials": 1,
    "the duplicate check (R-IDEMPOTENT)": 1,
    "the conversation row locked, with its contact (R-NEW, R-REOPEN)": 1,
    "the message": 1,
    "the conversation's last message": 1,
    "the members with their notification settings (R-NOTIFY)": 1,
    "a notification row per member": 3,
    "the MESSAGE_RECEIVED event (on PostgreSQL with the event-order lock in the same statement)": 1,
}
EXISTING_CONVERSATION = sum(SHARED.values()) + 1  # the CRM link check (R-NOTE)
# none found: the contact looked up and created, the conversation created, CONVERSATION_CREATED, the
# app's assignment policy (R-ROUTE: MANUAL here, so no lock and no candidates); no link check, nobody
# can have linked a conversation before it is committed
FRESH_CONVERSATION = sum(SHARED.values()) + 5
DUPLICATE = 3  # the app, the duplicate check, the stored message

BATCHED = {
    "the app with its credentials": 1,
    "the message, unless its (app, provider id) is stored (R-IDEMPOTENT)": 1,
    "the contact created or renamed and locked, with its conversation locked (R-NEW, R-REOPEN)": 1,
    "the message placed in its conversation, the conversation opened with its last message": 1,
    "the members with their notification settings (R-NOTIFY)": 1,
    "the notification rows of every member and the events, under the event-order lock": 1,
}
BATCHED_EXISTING = sum(BATCHED.values()) + 1  # the CRM link check (R-NOTE)
# the conversation created, the app's assignment policy (R-ROUTE: MANUAL, nothing more); no link check
BATCHED_FRESH = sum(BATCHED.values()) + 2
BATCHED_DUPLICATE = 2  # the app, the message's insert that found it stored


def expected(db: str, sqlite: int, postgres: int) -> int:
    return postgres if db == "postgres" else sqlite


async def _statements(app: ApiApp, contact: str, text: str, **sent: str) -> tuple[int, str]:
    with QueryCounter() as counter:
        await app.receive(contact, text, **sent)
    return counter.count, "\n".join(counter.statements)


async def test_first_message_of_a_new_contact_costs_a_fixed_number_of_statements(api: Api, db: str) -> None:
    team = await api.create_team()

    count, statements = await _statements(team.app, "cust", "Hi", name="Carla")

    assert count == expected(db, FRESH_CONVERSATION, BATCHED_FRESH), statements
    assert await Notification.filter(app_id=pk_of("MessagingApp", team.app.id)).count() == 3


async def test_message_on_an_existing_conversation_costs_a_fixed_number_of_statements(api: Api, db: str) -> None:
    team = await api.create_team()
    await team.app.receive("cust", "Hi", name="Carla")

    count, statements = await _statements(team.app, "cust", "Still there?", name="Carla")

    assert count == expected(db, EXISTING_CONVERSATION, BATCHED_EXISTING), statements
    assert await Message.filter(app_id=pk_of("MessagingApp", team.app.id)).count() == 2


async def test_a_repeated_delivery_costs_the_app_and_the_duplicate_check(api: Api, db: str) -> None:
    team = await api.create_team()
    await team.app.receive("cust", "Hi", message_id="m-1")

    count, statements = await _statements(team.app, "cust", "Hi", message_id="m-1")

    assert count == expected(db, DUPLICATE, BATCHED_DUPLICATE), statements
    assert await Message.filter(app_id=pk_of("MessagingApp", team.app.id)).count() == 1


async def test_an_event_id_is_drawn_only_under_the_event_order_lock(api: Api, db: str, database: str) -> None:
    """Replay has no gap: while another transaction is writing events, a new message's event waits for
    it before drawing its id, so ids become visible in order (PostgreSQL; SQLite writes one at a time)."""
    url = postgres_only(db, database)
    team = await api.create_team()
    await team.app.receive("cust", "Hi")
    holder = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        last_id = "SELECT last_value FROM inbox_event_id_seq"
        async with holder.transaction():
            await holder.execute("SELECT pg_advisory_xact_lock($1)", AdvisoryLock.EVENT_ORDER)
            drawn = await holder.fetchval(last_id)
            receiving = asyncio.ensure_future(team.app.receive("cust", "Again"))
            waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            async with asyncio.timeout(10):
                while not await holder.fetchval(waiting):  # noqa: ASYNC110  # another connection's lock queue: no event to wait on
                    await asyncio.sleep(0.01)  # polling for the writer to queue, not waiting for time
            assert await holder.fetchval(last_id) == drawn
        await receiving
    finally:
        await holder.close()
    assert await InboxEvent.filter(app_id=pk_of("MessagingApp", team.app.id)).count() == 3
