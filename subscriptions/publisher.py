"""The one door from a committed change to real time: `publish(event_ids)` after commit.

The hub (subscriptions/hub.py) installs itself here when it starts; before that, and in
processes that serve no subscriptions (`switchboard migrate`), publishing is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

log = logging.getLogger(__name__)

Publisher = Callable[[Sequence[int]], Awaitable[None]]
_publisher: Publisher | None = None


def set_publisher(publisher: Publisher | None) -> None:
    global _publisher
    _publisher = publisher


async def publish(event_ids: Sequence[int]) -> None:
    """Never raises: the change is committed, and a subscriber that missed it catches up from its cursor."""
    if not event_ids or _publisher is None:
        return
    try:
        await _publisher(event_ids)
    except Exception:
        log.exception("publishing events %s failed; subscribers resuming from a cursor still get them", list(event_ids))
