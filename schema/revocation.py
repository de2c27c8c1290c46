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

from resolvers.viewer import Grant, Viewer, lost_rights
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
        # Each open socket's grant, and the open sockets of each grant: kept as sockets come and go,
        # so a round does no Python work per socket (thousands of sockets, every second).
        self.sockets: weakref.WeakKeyDictionary[Watched, Grant] = weakref.WeakKeyDictionary()
        self.grants: dict[Grant, weakref.WeakSet[Watched]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        hub.rights_listeners.add(self._heard)

    def watch(self, socket: Watched) -> None:
        accepted = socket.accepted
        if accepted is None or accepted.digest is None:
            return
        grant = (accepted.digest, accepted.user.id, accepted.user.role)
        self.sockets[socket] = grant
        self.grants.setdefault(grant, weakref.WeakSet()).add(socket)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="ws-revocation")

    def forget(self, socket: Watched) -> None:
        grant = self.sockets.pop(socket, None)
        holders = self.grants.get(grant) if grant is not None else None
        if holders is not None:
            holders.discard(socket)
            if not holders:
                del self.grants[grant]  # type: ignore[arg-type]  # not None here

    def _heard(self, user_ids: frozenset[int]) -> None:
        if any(user_id in user_ids for _, user_id, _ in list(self.grants)):
            self._wake.set()

    async def _run(self) -> None:
        while True:
            with suppress(TimeoutError):  # asyncio.timeout, as in the hub: wait_for may swallow a cancel
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()
            # A socket a client dropped without its handler's shutdown (collected) leaves an empty set.
            for grant in [grant for grant, holders in self.grants.items() if not holders]:
                del self.grants[grant]
            if not self.grants:
                return  # the next socket to open starts a new round
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database is unreachable: sockets carry on, the next round retries
                log.warning("re-checking the rights of open WebSockets failed: %s", error)

    async def check(self) -> None:
        """One statement for every grant of an open socket; the sockets of those lost are closed."""
        for grant in await lost_rights(list(self.grants)):
            for socket in list(self.grants.get(grant, ())):
                if not socket.open:
                    continue
                log.info("closing a WebSocket of user %s with 4403: its token no longer grants what it did", grant[1])
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
