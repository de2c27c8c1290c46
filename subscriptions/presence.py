"""R-PRESENCE's board: who is in which conversation now, one copy per process, never stored.

Every `setPresence` is published on the broker as a `{"presence": {...}}` message; each process's hub
applies it to its board, so every process holds the same map (a process started later learns it
from the next heartbeats, at most 20 s away). An entry carries its own expiry, decided by the
process that heard the heartbeat, so the copies expire together. Nothing here reads a clock: the
caller passes `now` (resolvers/clock.py is above this layer).

Watchers of a conversation (the conversationPresence subscription) hold an `asyncio.Event` set on
every change to it; expiry is seen by the watcher itself when it re-reads the board.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Entry:
    user_id: int
    activity: str  # VIEWING or TYPING
    since: datetime
    expires_at: datetime


class Board:
    def __init__(self) -> None:
        self._entries: dict[int, dict[int, Entry]] = {}  # conversation pk -> user pk -> entry
        self._watchers: dict[int, set[asyncio.Event]] = {}

    def message(self, conversation_id: int, user_id: int, entry: Entry | None) -> dict[str, object]:
        """The broker message for one change (`entry` None: the user left)."""
        body: dict[str, object] = {"conversation": conversation_id, "user": user_id}
        if entry is not None:
            body |= {
                "activity": entry.activity,
                "since": entry.since.isoformat(),
                "expires": entry.expires_at.isoformat(),
            }
        return {"presence": body}

    def apply(self, body: dict[str, object]) -> None:
        """One change heard from the broker (this process's own ones included)."""
        conversation_id, user_id = int(body["conversation"]), int(body["user"])  # type: ignore[call-overload]
        entries = self._entries.setdefault(conversation_id, {})
        if body.get("activity") is None:
            entries.pop(user_id, None)
        else:
            entries[user_id] = Entry(
                user_id,
                str(body["activity"]),
                datetime.fromisoformat(str(body["since"])),
                datetime.fromisoformat(str(body["expires"])),
            )
        if not entries:
            del self._entries[conversation_id]
        for watcher in self._watchers.get(conversation_id, ()):
            watcher.set()

    def current(self, conversation_id: int, now: datetime) -> list[Entry]:
        """Who is there at `now`, the earliest arrival first; expired entries are dropped."""
        entries = self._entries.get(conversation_id)
        if not entries:
            return []
        for user_id in [pk for pk, entry in entries.items() if entry.expires_at <= now]:
            del entries[user_id]
        if not entries:
            del self._entries[conversation_id]
        return sorted(entries.values(), key=lambda entry: (entry.since, entry.user_id))

    def get(self, conversation_id: int, user_id: int) -> Entry | None:
        return self._entries.get(conversation_id, {}).get(user_id)

    @contextmanager
    def watching(self, conversation_id: int) -> Iterator[asyncio.Event]:
        """An event set on every change heard for this conversation, while the block runs."""
        event = asyncio.Event()
        self._watchers.setdefault(conversation_id, set()).add(event)
        try:
            yield event
        finally:
            watchers = self._watchers[conversation_id]
            watchers.discard(event)
            if not watchers:
                del self._watchers[conversation_id]
