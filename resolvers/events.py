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
        if connection.capabilities.dialect == "postgres":
            await connection.execute_query("SELECT pg_advisory_xact_lock($1)", [EVENT_LOCK_KEY])
        for event in self.pending:
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
