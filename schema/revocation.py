"""Open WebSockets lose their rights when their token does (R-ADMIN).

A socket is accepted as the user its token belongs to, with that user's role. Each operation on it
re-reads that (schema/websocket.py). And while sockets are open, the process re-checks all of them
together: every `websocket_recheck_seconds` (a row changed by hand is noticed too), and at once when
the broker says that some user's rights changed on any process (resolvers.viewer.rights_changed).
One statement per check, for every open socket's token, joined to its user's role and status. A
socket whose token is gone, whose user is DEACTIVATED or whose role changed is closed with 4403: the
client reconnects, with what it may do now or not at all. A process with no open socket checks nothing.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from contextlib import suppress
from typing import Protocol

from resolvers.viewer import Viewer, lost_rights
from subscriptions.hub import Hub

log = logging.getLogger("switchboard.revocation")


class Watched(Protocol):
    """An open socket: who it was accepted as, and how to close it with 4403."""

    @property
    def accepted(self) -> Viewer | None: ...

    @property
    def open(self) -> bool: ...

    async def revoke(self) -> None: ...


def still_grants(accepted: Viewer, user_id: int | None, role: str | None) -> bool:
    """Whether the token's current (user, role) is what the socket was accepted with."""
    return user_id == accepted.user.id and role == accepted.user.role


class Sentry:
    """This process's watch over its open sockets (one per hub, so one per process and loop)."""

    def __init__(self, hub: Hub, interval: float) -> None:
        self.interval = interval
        self.sockets: weakref.WeakSet[Watched] = weakref.WeakSet()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        hub.rights_listeners.add(self._heard)

    def watch(self, socket: Watched) -> None:
        self.sockets.add(socket)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="ws-revocation")

    def forget(self, socket: Watched) -> None:
        self.sockets.discard(socket)

    def _heard(self, user_ids: frozenset[int]) -> None:
        if any(socket.accepted is not None and socket.accepted.user.id in user_ids for socket in list(self.sockets)):
            self._wake.set()

    async def _run(self) -> None:
        while True:
            with suppress(TimeoutError):  # asyncio.timeout, as in the hub: wait_for may swallow a cancel
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()
            sockets = [socket for socket in list(self.sockets) if socket.open and socket.accepted is not None]
            if not sockets:
                return  # the next socket to open starts a new round
            try:
                await self.check(sockets)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database is unreachable: sockets carry on, the next round retries
                log.warning("re-checking the rights of open WebSockets failed: %s", error)

    async def check(self, sockets: list[Watched]) -> None:
        accepted = [(socket, socket.accepted) for socket in sockets]
        lost = await lost_rights(
            {(viewer.digest, viewer.user.id, viewer.user.role) for _, viewer in accepted if viewer and viewer.digest}
        )
        if not lost:
            return
        for socket, viewer in accepted:
            if viewer is None or (viewer.digest, viewer.user.id, viewer.user.role) not in lost:
                continue
            log.info("closing a WebSocket of user %s with 4403: its token no longer grants what it did", viewer.user.id)
            # In a task of its own: a client that stopped reading must not hold up the others.
            closing = asyncio.create_task(socket.revoke(), name="ws-revoke")
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)


_sentries: weakref.WeakKeyDictionary[Hub, Sentry] = weakref.WeakKeyDictionary()


def sentry_of(hub: Hub, interval: float) -> Sentry:
    sentry = _sentries.get(hub)
    if sentry is None:
        sentry = _sentries[hub] = Sentry(hub, interval)
    return sentry
