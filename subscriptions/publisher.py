"""The one door from a committed change to real time. Call these only after commit.

    await publish(event_ids)                                   # InboxEvent ids (resolvers/events.change does it)
    await publish_notifications([(user_id, notification_id)])  # Notification rows of those users
    await publish_rights_changed([user_id])                    # their tokens, role or status changed

Both never raise and never wait on Redis: the message is queued for the broker, and a subscriber
that misses an event (Redis down, process restart) catches up from the database. The hub
(subscriptions/hub.py) installs itself here when the app starts; before that, and in processes that
serve no subscriptions (`switchboard migrate`), publishing is a no-op. Receiving notifications:
`hub.notification_ids(user_id)` (or `schema.realtime.live_notification_ids(info)`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Protocol

log = logging.getLogger(__name__)


class Sink(Protocol):
    def publish_events(self, event_ids: Sequence[int]) -> None: ...

    def publish_notifications(self, pairs: Iterable[tuple[int, int]]) -> None: ...

    def publish_rights_changed(self, user_ids: Sequence[int]) -> None: ...


_sink: Sink | None = None


def install(sink: Sink | None) -> None:
    global _sink
    _sink = sink


async def publish(event_ids: Sequence[int]) -> None:
    """Never raises: the change is committed, and a subscriber that missed it catches up from its cursor."""
    if not event_ids or _sink is None:
        return
    try:
        _sink.publish_events(event_ids)
    except Exception:
        log.exception("publishing events %s failed; subscribers resuming from a cursor still get them", list(event_ids))


async def publish_notifications(pairs: Iterable[tuple[int, int]]) -> None:
    """`pairs` are (user id, notification id). Never raises; live delivery only (the rows are the record)."""
    pairs = [(int(user_id), int(notification_id)) for user_id, notification_id in pairs]
    if not pairs or _sink is None:
        return
    try:
        _sink.publish_notifications(pairs)
    except Exception:
        log.exception("publishing notifications %s failed", pairs)


async def publish_rights_changed(user_ids: Iterable[int]) -> None:
    """A token of these users was deleted, or their role or status changed: every process re-checks
    their open WebSockets now (resolvers.viewer.rights_changed). Never raises; without the message
    the once-a-second re-check still closes them."""
    user_ids = sorted({int(user_id) for user_id in user_ids})
    if not user_ids or _sink is None:
        return
    try:
        _sink.publish_rights_changed(user_ids)
    except Exception:
        log.exception("publishing changed rights of users %s failed", user_ids)
