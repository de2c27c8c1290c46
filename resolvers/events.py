"""The unit of change: one transaction that writes rows and their InboxEvents, published after commit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from tortoise import connections
from tortoise.transactions import in_transaction

from models import Conversation, InboxEvent, InboxEventType
from resolvers import clock
from subscriptions.publisher import publish

# Serialises the moment events are written, so on PostgreSQL event ids become visible in id order:
# a reader resuming after id N can never later see a smaller id commit (no gap on replay).
EVENT_LOCK_KEY = 0x5B1E_E7E7
# The lock is taken in the statement that draws the event's id (one round trip on every change);
# taking it again for a second event of the same transaction is harmless (it is re-entrant).
_INSERT_UNDER_LOCK = (
    "INSERT INTO inbox_event (account_id, app_id, conversation_id, message_id, actor_id, type, occurred_at)"
    " SELECT $1::int, $2::int, $3::int, $4::int, $5::int, $6::varchar, $7::timestamptz"
    " FROM pg_advisory_xact_lock($8) RETURNING id"
)


@dataclass
class Change:
    """What a transaction will announce: `record` queues an event, written just before commit;
    `after_commit` holds work that must wait for the commit (a provider send, an email wake-up)."""

    pending: list[InboxEvent] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def record(
        self,
        type: InboxEventType,
        conversation: Conversation,
        *,
        message_id: int | None = None,
        actor_id: int | None = None,
    ) -> None:
        self.pending.append(
            InboxEvent(
                account_id=conversation.account_id,
                app_id=conversation.app_id,
                conversation_id=conversation.id,
                message_id=message_id,
                actor_id=actor_id,
                type=type,
                occurred_at=clock.now(),
            )
        )

    async def _flush(self) -> None:
        if not self.pending:
            return
        connection = connections.get("default")
        postgres = connection.capabilities.dialect == "postgres"
        for event in self.pending:
            if postgres:
                fields = [event.account_id, event.app_id, event.conversation_id, event.message_id, event.actor_id]
                rows = await connection.execute_query_dict(
                    _INSERT_UNDER_LOCK, [*fields, event.type.value, event.occurred_at, EVENT_LOCK_KEY]
                )
                event.id = rows[0]["id"]
            else:
                await event.save()
            self.event_ids.append(event.id)
        self.pending.clear()


@asynccontextmanager
async def change() -> AsyncIterator[Change]:
    """`async with change() as c:` writes in one transaction; events and after-commit work follow it."""
    current = Change()
    async with in_transaction():
        yield current
        await current._flush()
    await publish(current.event_ids)
    for task in current.after_commit:
        await task()
