"""Inbox events as a viewer sees them: cursors, who may receive an event, replay from the database."""

from __future__ import annotations

from collections.abc import AsyncIterator

from models import AppAccess, Conversation, InboxEvent, InboxEventType, Message
from resolvers.access import visible_conversation
from resolvers.pagination import cursor_id, decode_cursor, encode_cursor
from resolvers.viewer import Viewer

REPLAY_PAGE = 100


def event_cursor(event_id: int) -> str:
    return encode_cursor(event_id)


def event_id_of(cursor: str) -> int:
    (event_id,) = decode_cursor(cursor, 1)
    return cursor_id(event_id, InboxEvent)


async def newest_cursor(viewer: Viewer) -> str:
    """The viewer's account's newest event: subscribing after it misses nothing from now on."""
    latest = await InboxEvent.filter(account_id=viewer.account_id).order_by("-id").only("id").first()
    return event_cursor(latest.id if latest else 0)


async def audience(app_id: int) -> frozenset[int]:
    """The users an event of `app_id` may reach now: those it is shared with (checked per delivery)."""
    return frozenset(await AppAccess.filter(app_id=app_id).values_list("user_id", flat=True))


async def subscribable_conversation(viewer: Viewer, conversation_id: str) -> int:
    return (await visible_conversation(viewer, conversation_id)).id


async def events_between(
    viewer: Viewer, after: int, upto: int, conversation_id: int | None = None
) -> AsyncIterator[InboxEvent]:
    """The account's events with after < id <= upto, oldest first (access is checked on delivery)."""
    while after < upto:
        query = InboxEvent.filter(account_id=viewer.account_id, id__gt=after, id__lte=upto)
        if conversation_id is not None:
            query = query.filter(conversation_id=conversation_id)
        page = await query.order_by("id").limit(REPLAY_PAGE)
        for event in page:
            yield event
        if len(page) < REPLAY_PAGE:
            return
        after = page[-1].id


def shown_conversation(event: InboxEvent, conversation: Conversation | None) -> Conversation | None:
    """The conversation as it is now; none for CONVERSATION_DELETED, nor while it is deleted (R-DELETE)."""
    if event.type == InboxEventType.CONVERSATION_DELETED or conversation is None or conversation.deleted_at:
        return None
    return conversation


def shown_message(message: Message | None) -> Message | None:
    """A message erased with its conversation (R-DELETE) is a tombstone: not shown."""
    return message if message is not None and message.conversation_id is not None else None
