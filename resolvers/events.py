"""The unit of change: one transaction that writes rows and their InboxEvents, published after commit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from tortoise.transactions import in_transaction

from models import Conversation, InboxEvent, InboxEventType
from models.sql import INSERT_EVENT_IN_ORDER, AdvisoryLock, Dialect, dialect, fetch
from resolvers import clock
from subscriptions.publisher import publish


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
        # On PostgreSQL event ids are drawn under AdvisoryLock.EVENT_ORDER (models/sql.py).
        postgres = dialect() == Dialect.POSTGRES
        for event in self.pending:
            if postgres:
                fields = [event.account_id, event.app_id, event.conversation_id, event.message_id, event.actor_id]
                rows = await fetch(
                    INSERT_EVENT_IN_ORDER, *fields, event.type, event.occurred_at, AdvisoryLock.EVENT_ORDER
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
