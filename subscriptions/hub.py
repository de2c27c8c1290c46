"""The per-process hub: ONE broker subscription, fanned out to local subscribers through bounded queues.

Inbox events. The broker only says "new events"; the hub then reads `InboxEvent` rows with an id
above its position, in id order, from the database (resolvers/events.py makes ids visible in id
order). So a live subscriber gets every event once and in order, even across a Redis outage (on
reconnect, and every `POLL_SECONDS` anyway, the hub catches up from the database). Subscribers
that ask for the same thing form a `Group`: the group renders each event once (schema/realtime.py
executes the GraphQL document once per group, not per subscriber) and the hub hands the same
payload to every member. A member whose queue is full is cut off and its queue is dropped: it ends
with `TooSlow` (SUBSCRIBER_TOO_SLOW) instead of growing memory or slowing others.

No account's events wait for another account's renders. The dispatcher only reads events and takes
each one's recipient snapshot; every account has its own `Lane`, a task rendering that account's
events one after the other (so each subscriber still gets them in order) while other accounts' lanes
render theirs. They share one event loop and one database, so a heavy render still slows the others
while it runs; the render budget bounds how long that is. A group whose render of one event runs for longer than the render budget (its own time on
the event loop, not time spent waiting: see subscriptions/budget.py) is ended: its members get the
events rendered before, then `OverBudget` (QUERY_TOO_COMPLEX), and a later subscriber of the same
document starts a new group. A lane more than `queue_size` events behind cuts its account's
subscribers off (`TooSlow`) rather than hold an ever longer backlog.

Joining: `hub.join(...)` returns a `Subscriber` whose `start_after` is the last event id the hub
took a recipient snapshot for. Every later event reaches its queue as (event id, payload); events
up to `start_after` are the subscriber's to replay from the database. Nothing is missed or doubled
at that seam (a subscriber resuming after a cursor the hub has not reached yet skips ids up to it).

Notifications (for the `notifications` subscription, any other per-user stream alike):
    publisher.publish_notifications([(user_id, notification_id), ...])   # after commit
    async for notification_id in hub.notification_ids(user_id): ...       # live, any process
`notification_ids` raises `TooSlow` when the consumer falls `queue_size` ids behind. It is live
only: nothing is replayed (the stored list is the record).

Changed rights (a token deleted, a role or status changed; resolvers.viewer.rights_changed):
    publisher.publish_rights_changed([user_id, ...])            # after commit
    hub.rights_listeners.add(callback)                          # callback(frozenset of user ids), any process
schema/revocation.py listens, to close the WebSockets that lost their rights.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Hashable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from models import InboxEvent, User
from models.sql import EVENTS_AFTER, fetch, instances
from subscriptions import publisher
from subscriptions.broker import Broker, broker_for
from subscriptions.budget import Budget, OverBudget
from subscriptions.presence import Board

log = logging.getLogger("switchboard.hub")

POLL_SECONDS = 5.0
BATCH = 200
YIELD_EVERY = 256  # recipients handed an event between two yields to the event loop


class TooSlow(Exception):
    """The subscriber fell more than its queue size behind and was cut off."""


class Subscriber:
    """A bounded queue of payloads for one subscription; `get` raises TooSlow once it overflowed,
    or the error it was ended with once the payloads before it are taken."""

    __slots__ = ("_items", "_limit", "_waiter", "ended", "group", "sink", "start_after", "user")

    def __init__(self, user: Any, limit: int, start_after: int = 0, group: Group | None = None) -> None:
        self.user = user
        self.group = group
        self.start_after = start_after
        self.ended: Exception | None = None
        self._items: deque[Any] | None = None  # made on first use: most subscribers are idle
        self._limit = limit
        self._waiter: asyncio.Future[None] | None = None
        # Set by a consumer that writes payloads itself, synchronously (schema/realtime.py's live
        # phase): `sink(item, shared)` writes it, False if the consumer is too slow (then it is cut
        # off). `shared` is one dict per payload and event, for whatever every recipient can reuse.
        self.sink: Sink | None = None

    def attach(self, sink: Sink) -> None:
        """From now on, payloads go to `sink` instead of the queue; those queued go first."""
        items, self._items = self._items, None
        self.sink = sink
        for item in items or ():
            self.push(item)

    def push(self, item: Any, shared: dict[Any, Any] | None = None) -> None:
        if self.ended is not None:
            return
        if self.sink is not None:
            if not self.sink(item, {} if shared is None else shared):
                self.cut_off()
            return
        if self._items is None:
            self._items = deque()
        if len(self._items) >= self._limit:
            self.cut_off()
            return
        self._items.append(item)
        self._wake()

    def cut_off(self) -> None:
        """Ends it now, dropping what it has not taken: it raises TooSlow."""
        self._items = None
        self.end(TooSlow())

    def end(self, error: Exception) -> None:
        """Ends it after the payloads it already has: then `get` raises `error`."""
        if self.ended is None:
            self.ended = error
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            if self.ended is not None:
                raise self.ended
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()


Sink = Callable[[Any, dict[Any, Any]], bool]

Renderer = Callable[
    [InboxEvent, list[Subscriber], dict[str, Any]], Coroutine[Any, Any, Iterable[tuple[Any, Sequence[Subscriber]]]]
]


@dataclass(eq=False)
class Group:
    """Subscribers of one account who asked for the same thing. `render(event, members, scratch)`
    returns (payload, recipients) pairs: who may see the event and what they get. `scratch` is
    shared by every group rendering the same event (per-event caches)."""

    account_id: int
    conversation_id: int | None
    render: Renderer
    members: set[Subscriber] = field(default_factory=set)
    over_budget: bool = False  # its members were ended; nothing more is rendered for it


Snapshot = list[tuple[Group, list[Subscriber]]]


@dataclass(eq=False)
class Lane:
    """One account's events waiting to be rendered, each with its recipients, and the task rendering them."""

    backlog: deque[tuple[InboxEvent, Snapshot]] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None


class Hub:
    def __init__(
        self,
        broker: Broker,
        *,
        queue_size: int = 1_000,
        poll_seconds: float = POLL_SECONDS,
        render_budget: float,  # seconds (settings.subscription_render_budget_ms)
    ) -> None:
        self.broker = broker
        self.queue_size = queue_size
        self.poll_seconds = poll_seconds
        self.render_budget = render_budget
        self.position = 0
        self.announced = 0  # the newest event id published here or heard of from the broker
        self.groups: dict[int, dict[Hashable, Group]] = {}
        self.lanes: dict[int, Lane] = {}
        self.listeners: dict[int, set[Subscriber]] = {}
        self.rights_listeners: set[Callable[[frozenset[int]], None]] = set()
        self.presence = Board()  # R-PRESENCE, fed by the broker (subscriptions/presence.py)
        self._wake = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    # ---- lifecycle

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        latest = await InboxEvent.all().order_by("-id").first()
        self.position = latest.id if latest else 0
        self._dispatcher = asyncio.create_task(self._dispatch_forever(), name="hub-dispatch")
        await self.broker.start(self._on_message, self._wake.set)
        publisher.install(self)

    async def stop(self) -> None:
        publisher.install(None)
        if self.loop is not asyncio.get_running_loop():
            return  # its loop is gone, and its tasks with it
        await self.broker.close()
        tasks = [task for task in (self._dispatcher, *(lane.task for lane in self.lanes.values())) if task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task

    # ---- publishing (subscriptions.publisher calls these after commit)

    def publish_events(self, event_ids: Sequence[int]) -> None:
        self.announced = max([self.announced, *event_ids])
        self.broker.publish(json.dumps({"events": list(event_ids)}).encode())

    def publish_notifications(self, pairs: Iterable[tuple[int, int]]) -> None:
        self.broker.publish(json.dumps({"notifications": [list(pair) for pair in pairs]}).encode())

    def publish_rights_changed(self, user_ids: Sequence[int]) -> None:
        self.broker.publish(json.dumps({"rights": list(user_ids)}).encode())

    def publish_presence(self, message: dict[str, object]) -> None:
        """A `Board.message`: reaches every process's board, this one's included, through the broker."""
        self.broker.publish(json.dumps(message).encode())

    def _on_message(self, data: bytes) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            log.warning("ignoring an unreadable broker message %r", data[:100])
            return
        if message.get("events"):
            self.announced = max([self.announced, *message["events"]])
            self._wake.set()
        for user_id, notification_id in message.get("notifications", ()):
            for listener in self.listeners.get(user_id, ()):
                listener.push(notification_id)
        if message.get("rights"):
            user_ids = frozenset(message["rights"])
            for rights_listener in list(self.rights_listeners):
                rights_listener(user_ids)
        if message.get("presence"):
            self.presence.apply(message["presence"])

    # ---- inbox events

    def horizon(self) -> int:
        """The newest event id this process knows to be committed: dispatched, published here, or
        announced by the broker (a subscription without `after` starts there, schema/websocket.py)."""
        return max(self.position, self.announced)

    def join(self, key: Hashable, make_group: Callable[[], Group], user: User) -> Subscriber:
        account_groups = self.groups.setdefault(user.account_id, {})
        group = account_groups.get(key)
        if group is None or group.over_budget:
            group = account_groups[key] = make_group()
        subscriber = Subscriber(user, self.queue_size, self.position, group)
        group.members.add(subscriber)
        return subscriber

    def leave(self, subscriber: Subscriber) -> None:
        group = subscriber.group
        if group is None:
            return
        group.members.discard(subscriber)
        if not group.members:
            account_groups = self.groups.get(group.account_id, {})
            for key, candidate in list(account_groups.items()):
                if candidate is group:
                    del account_groups[key]
            if not account_groups:
                self.groups.pop(group.account_id, None)

    async def _dispatch_forever(self) -> None:
        while True:
            with suppress(TimeoutError):  # asyncio.timeout: wait_for can swallow stop()'s cancel on 3.11
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.catch_up()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reading new inbox events failed; retrying")
                await asyncio.sleep(1)
                self._wake.set()

    async def catch_up(self) -> None:
        if not self.groups and self.announced > self.position:
            # Nobody here listens: the events up to the newest announced (committed, and every id
            # below it visible, resolvers/events.py) would each only move `position`. Whoever joins
            # later replays up to `position` from the database (see "Joining" above).
            self.position = self.announced
            return
        while True:
            events = instances(InboxEvent, await fetch(EVENTS_AFTER, self.position, BATCH))
            for event in events:
                self._deliver(event)
            if len(events) < BATCH:
                return

    def _deliver(self, event: InboxEvent) -> None:
        """Takes the event's recipients and hands it to its account's lane. No await between moving
        `position` and the snapshot: a subscriber joins either before (in it) or after (replays it)."""
        self.position = event.id
        snapshot = [
            (group, list(group.members))
            for group in self.groups.get(event.account_id, {}).values()
            if group.conversation_id is None or group.conversation_id == event.conversation_id
        ]
        if not snapshot:
            return
        lane = self.lanes.get(event.account_id)
        if lane is None:
            lane = self.lanes[event.account_id] = Lane()
        if len(lane.backlog) >= self.queue_size:
            log.warning(
                "account %s: rendering fell %d events behind; its subscribers are cut off",
                event.account_id,
                len(lane.backlog),
            )
            for _, waiting in lane.backlog:
                for _, members in waiting:
                    for member in members:
                        member.cut_off()
            for _, members in snapshot:
                for member in members:
                    member.cut_off()
            lane.backlog.clear()
            return
        lane.backlog.append((event, snapshot))
        if lane.task is None:
            lane.task = asyncio.create_task(
                self._render_lane(event.account_id, lane), name=f"hub-account-{event.account_id}"
            )

    async def _render_lane(self, account_id: int, lane: Lane) -> None:
        try:
            while lane.backlog:
                event, snapshot = lane.backlog.popleft()
                scratch: dict[str, Any] = {}
                for group, members in snapshot:
                    if not group.over_budget:
                        await self._render_live(group, event, members, scratch)
        finally:
            lane.task = None
            if not lane.backlog and self.lanes.get(account_id) is lane:
                del self.lanes[account_id]

    async def _render_live(
        self, group: Group, event: InboxEvent, members: list[Subscriber], scratch: dict[str, Any]
    ) -> None:
        try:
            rendered = await self.render(group, event, members, scratch)
        except OverBudget as error:
            log.warning(
                "account %s: rendering inbox event %s for a subscription took over %.0f ms; its %d subscribers are ended",
                group.account_id,
                event.id,
                self.render_budget * 1000,
                len(group.members),
            )
            group.over_budget = True
            scratch.clear()  # what the cancelled render shared with the event's other groups may be cut short too
            for member in {*members, *group.members}:
                member.end(error)
            return
        except Exception:
            log.exception("rendering inbox event %s failed", event.id)
            return
        await self.hand_out(event.id, rendered)

    @staticmethod
    async def hand_out(event_id: int, rendered: Iterable[tuple[Any, Sequence[Subscriber]]]) -> None:
        """Gives each recipient its payload: written at once by its sink where it has one (the common
        case, kept to a few attribute reads and one call per socket), else queued."""
        countdown = YIELD_EVERY
        for payload, recipients in rendered:
            item = (event_id, payload)
            shared: dict[Any, Any] = {}
            for subscriber in recipients:
                sink = subscriber.sink
                if sink is None or subscriber.ended is not None:
                    subscriber.push(item, shared)
                elif not sink(item, shared):
                    subscriber.cut_off()
                countdown -= 1
                if not countdown:
                    countdown = YIELD_EVERY
                    await asyncio.sleep(0)  # sockets written straight from here: let the loop breathe

    async def render(
        self, group: Group, event: InboxEvent, members: list[Subscriber], scratch: dict[str, Any]
    ) -> Iterable[tuple[Any, Sequence[Subscriber]]]:
        """The group's (payload, recipients) for `event`; OverBudget if rendering it runs for longer than
        the budget (time spent running, not waiting: see subscriptions/budget.py)."""
        return await Budget(self.render_budget).run(group.render(event, members, scratch))

    # ---- per-user streams

    async def notification_ids(self, user_id: int) -> AsyncIterator[int]:
        listener = Subscriber(None, self.queue_size)
        self.listeners.setdefault(user_id, set()).add(listener)
        try:
            while True:
                yield await listener.get()
        finally:
            listeners = self.listeners.get(user_id)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self.listeners[user_id]


_hub: Hub | None = None


async def current_hub() -> Hub:
    """This process's hub; one on the settings' broker is started if the app's lifespan did not
    (an app served without lifespan, e.g. in-process in tests)."""
    if _hub is None or _hub.loop is not asyncio.get_running_loop():
        from settings import get_settings

        settings = get_settings()
        await start_hub(
            settings.redis_url,
            settings.redis_channel,
            queue_size=settings.subscriber_queue_size,
            render_budget=settings.subscription_render_budget_ms / 1000,
        )
    assert _hub is not None
    return _hub


async def start_hub(redis_url: str | None, channel: str, *, queue_size: int, render_budget: float) -> Hub:
    """Starts this process's hub (the app's lifespan calls it); one per process, so a running one stops."""
    global _hub
    if _hub is not None:
        log.warning("a real-time hub was already running in this process; replacing it")
        await stop_hub()
    hub = Hub(broker_for(redis_url, channel), queue_size=queue_size, render_budget=render_budget)
    await hub.start()
    _hub = hub
    return hub


async def stop_hub() -> None:
    global _hub
    hub, _hub = _hub, None
    if hub is not None:
        await hub.stop()
