"""R-PRESENCE: who has a conversation open or is typing in it. Ephemeral: kept in every process's
memory through the broker (subscriptions/presence.py), never in the database nor the event log.

A heartbeat (`setPresence` every <= 20 s) keeps an entry for `TTL` after it; null activity removes
it at once. The list includes the viewer: it is the same for everyone, and clients leave themselves
out by id. The stale-send guard of the same rule is in resolvers/replies.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import suppress
from datetime import timedelta
from enum import StrEnum

from resolvers import clock
from resolvers.access import require_conversation
from resolvers.viewer import Viewer
from subscriptions.hub import current_hub
from subscriptions.presence import Entry


class PresenceActivity(StrEnum):
    VIEWING = "VIEWING"
    TYPING = "TYPING"


TTL = timedelta(seconds=30)
# How often a watcher re-reads the board to see entries expire (in real seconds).
SWEEP_SECONDS = 1.0


async def set_presence(
    viewer: Viewer, conversation_id: str, activity: PresenceActivity | None, socket_set: set[int] | None = None
) -> bool:
    """A heartbeat (VIEWING or TYPING) or, with None, leaving. NOT_FOUND unless the viewer sees the
    conversation. `socket_set`: the WebSocket it came through, whose conversations `left` clears on close."""
    conversation = await require_conversation(viewer, conversation_id)
    if socket_set is not None:
        (socket_set.add if activity is not None else socket_set.discard)(conversation.id)
    await _publish(viewer.id, conversation.id, activity)
    return True


async def left(user_id: int, conversation_pks: set[int]) -> None:
    """The socket that set these presences closed: they end now, not 30 s later."""
    for conversation_pk in sorted(conversation_pks):
        await _publish(user_id, conversation_pk, None)


async def _publish(user_id: int, conversation_pk: int, activity: PresenceActivity | None) -> None:
    hub = await current_hub()
    entry: Entry | None = None
    if activity is not None:
        now = clock.now()
        previous = hub.presence.get(conversation_pk, user_id)
        # `since` is when this activity began: a heartbeat of the same activity keeps it.
        since = previous.since if previous and previous.activity == activity and previous.expires_at > now else now
        entry = Entry(user_id, activity.value, since, now + TTL)
    message = hub.presence.message(conversation_pk, user_id, entry)
    hub.presence.apply(message["presence"])  # type: ignore[arg-type]  # seen here at once; the echo repeats it
    hub.publish_presence(message)


async def presence_of(conversation_id: int) -> list[Entry]:
    """Who is in this (already visible) conversation now."""
    return (await current_hub()).presence.current(conversation_id, clock.now())


async def watched_conversation(viewer: Viewer, conversation_id: str) -> int:
    """The conversation's pk for `watch_presence`; NOT_FOUND unless the viewer sees it."""
    return (await require_conversation(viewer, conversation_id)).id


async def watch_presence(conversation_pk: int) -> AsyncIterator[list[Entry]]:
    """The whole list now, then again on every change and expiry (seen within SWEEP_SECONDS)."""
    board = (await current_hub()).presence
    with board.watching(conversation_pk) as changed:
        sent: list[Entry] | None = None
        while True:
            changed.clear()
            now = board.current(conversation_pk, clock.now())
            if now != sent:
                sent = now
                yield now
            with suppress(TimeoutError):
                async with asyncio.timeout(SWEEP_SECONDS):
                    await changed.wait()
