"""Inbox events as a viewer sees them: cursors and replay from the database (who may receive one:
resolvers/access.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from models import InboxEvent
from resolvers.access import require_conversation
from resolvers.errors import ValidationFailed
from resolvers.pagination import cursor_id, decode_cursor, encode_cursor
from resolvers.viewer import Viewer

REPLAY_PAGE = 100


def event_cursor(event_id: int) -> str:
    return encode_cursor(event_id)


def event_id_of(cursor: str) -> int:
    (event_id,) = decode_cursor(cursor, 1)
    return cursor_id(event_id, InboxEvent)


async def resume_point(viewer: Viewer, cursor: str) -> int:
    """The event id a subscription with `after: cursor` resumes after. A cursor newer than the
    account's newest event is refused: live delivery would skip every event up to it."""
    after = event_id_of(cursor)
    if after and not await InboxEvent.filter(account_id=viewer.account_id, id__gte=after).exists():
        raise ValidationFailed(
            "This cursor is newer than the newest event: resume from a cursor you received, or from inboxEventCursor.",
            field="after",
        )
    return after


async def newest_cursor(viewer: Viewer) -> str:
    """The viewer's account's newest event: subscribing after it misses nothing from now on."""
    latest = await InboxEvent.filter(account_id=viewer.account_id).order_by("-id").only("id").first()
    return event_cursor(latest.id if latest else 0)


async def subscribable_conversation(viewer: Viewer, conversation_id: str) -> int:
    return (await require_conversation(viewer, conversation_id)).id


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
