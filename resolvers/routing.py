"""R-ROUTE: automatic assignment of an app's new and reopened unassigned conversations.

Two entry points, both called inside the transaction of the change that calls for them:

- `route_new(c, conversations)`: conversations this transaction created or reopened, open and
  unassigned, each given to the next eligible user (or left queued: open and unassigned);
- `drain(c, app_ids)`: someone may have become eligible (availability on, a slot freed, access
  given, a user reactivated, a policy change): the apps' queues are taken oldest first.

Eligible: the app is shared with the user (resolvers/access.py), who is ACTIVE (R-ADMIN), available
(R-AVAIL) and holds fewer open conversations of the app than the cap. Every decision for an app is
taken under one lock per app (`AdvisoryLock.APP_ROUTING` on PostgreSQL; SQLite runs one write
transaction at a time), where the loads are read again from an index (no counter to keep in step
with the many changes that move a conversation), so two arrivals on two processes never both take
a user's last free slot. Lock order, to never deadlock: the changed conversation's row, then the
apps' routing locks in id order, then the users' rows (read FOR SHARE); a queue's rows are taken
with SKIP LOCKED, so a queued conversation some other transaction holds waits for the next pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from models import AppAccess, AssignmentMode, Conversation, ConversationStatus, InboxEventType, MessagingApp
from models.sql import (
    FOR_SHARE_OF_USERS,
    LOCK_APP_ROUTING,
    ROUTED_APPS,
    ROUTING_CANDIDATES,
    AdvisoryLock,
    Dialect,
    dialect,
    fetch,
)
from models.typed import ids_of
from resolvers.access import account_app
from resolvers.errors import ValidationFailed
from resolvers.events import Change, change
from resolvers.notifications import notify_assigned
from resolvers.versions import compare_and_set
from resolvers.viewer import Viewer

MAX_CAP = 10_000
# Without a cap one drain takes at most this many queued conversations (a later trigger takes more).
DRAIN_BATCH = 500


@dataclass
class _Turns:
    """One app's policy and its eligible users' loads, read under the app's routing lock."""

    app: MessagingApp
    loads: dict[int, int]  # eligible user -> open conversations in the app, in id order
    last: int | None  # ROUND_ROBIN's turn: whom it gave a conversation last

    def free_slots(self) -> int:
        cap = self.app.max_open_per_user
        if cap is None:
            return DRAIN_BATCH if self.loads else 0
        return sum(max(0, cap - load) for load in self.loads.values())

    def pick(self) -> int | None:
        """The next user, or None when everyone is at the cap. Users after the last one's turn come
        first (round robin); BALANCED takes the least loaded, ties in that same turn order."""
        cap = self.app.max_open_per_user
        users = list(self.loads)
        if self.last is not None:
            after = [user for user in users if user > self.last]
            users = after + [user for user in users if user <= self.last]
        open_to = [user for user in users if cap is None or self.loads[user] < cap]
        if not open_to:
            return None
        if self.app.assignment_mode == AssignmentMode.BALANCED:
            return min(open_to, key=lambda user: self.loads[user])  # min keeps the first of equals
        return open_to[0]

    def took(self, user_id: int) -> None:
        self.loads[user_id] += 1
        self.last = user_id


async def lock_routing(app_ids: Iterable[int]) -> None:
    """PostgreSQL: takes the apps' routing locks, in id order (re-entrant within a transaction)."""
    if dialect() == Dialect.POSTGRES:
        for app_id in sorted(set(app_ids)):
            await fetch(LOCK_APP_ROUTING, AdvisoryLock.APP_ROUTING, app_id)


async def _routed(app_ids: Iterable[int]) -> list[int]:
    """Of `app_ids`, those whose policy is not MANUAL, in id order: one statement, no lock (each
    is read again under its lock), so arrivals in MANUAL apps cost only this."""
    ids = sorted(set(app_ids))
    if not ids:
        return []
    return [row["id"] for row in await fetch(ROUTED_APPS, ids)]


async def _turns(app_id: int) -> _Turns | None:
    """The app's turns, under its lock; None if it is (by now) MANUAL or gone."""
    await lock_routing([app_id])
    app = await MessagingApp.get_or_none(id=app_id)
    if app is None or app.assignment_mode == AssignmentMode.MANUAL:
        return None
    statement = ROUTING_CANDIDATES + (FOR_SHARE_OF_USERS if dialect() == Dialect.POSTGRES else "")
    loads = {row["id"]: int(row["open"]) for row in await fetch(statement, app_id, app_id)}
    return _Turns(app, loads, app.assignment_last_user_id)


async def _give(c: Change, turns: _Turns, conversation: Conversation) -> bool:
    """Gives the conversation (its row locked by the caller) to the next user; False if none is free."""
    user_id = turns.pick()
    if user_id is None:
        return False
    if await compare_and_set(conversation, assignee_id=user_id):
        turns.took(user_id)
        c.record(InboxEventType.CONVERSATION_ASSIGNED, conversation)  # no actor: the app's policy
        await notify_assigned(c, conversation, actor_id=None)
    return True


async def _save_turn(turns: _Turns) -> None:
    if turns.last != turns.app.assignment_last_user_id:
        await MessagingApp.filter(id=turns.app.id).update(assignment_last_user_id=turns.last)


def _queued(conversation: Conversation) -> bool:
    return (
        conversation.status == ConversationStatus.OPEN
        and conversation.assignee_id is None
        and conversation.deleted_at is None
    )


async def route_new(c: Change, conversations: Sequence[Conversation]) -> None:
    """Inside the transaction that created or reopened `conversations` (their rows locked by it):
    each one still open and unassigned goes to the next eligible user of its app's policy, in the
    order given; under MANUAL, or with everyone at the cap, it stays queued. Costs one statement
    when every app is MANUAL."""
    by_app: dict[int, list[Conversation]] = {}
    for conversation in conversations:
        if _queued(conversation):
            by_app.setdefault(conversation.app_id, []).append(conversation)
    for app_id in await _routed(by_app):
        turns = await _turns(app_id)
        if turns is None:
            continue
        for conversation in by_app[app_id]:
            if not await _give(c, turns, conversation):
                break
        await _save_turn(turns)


async def route_new_ids(c: Change, conversation_ids: Sequence[tuple[int, int]]) -> dict[int, int]:
    """`route_new` for a writer that holds rows, not models (the inbound batch,
    `resolvers/inbound_batch.py`): (app id, conversation id) pairs in arrival order, their rows
    locked by the caller. The conversations are loaded only in apps with a policy. Returns the
    assignee each routed conversation was given."""
    by_app: dict[int, list[int]] = {}
    for app_id, conversation_id in conversation_ids:
        by_app.setdefault(app_id, []).append(conversation_id)
    routed = await _routed(by_app)
    if not routed:
        return {}
    ids = [conversation_id for app_id in routed for conversation_id in by_app[app_id]]
    rows = {row.id: row for row in await Conversation.filter(id__in=ids)}
    await route_new(c, [rows[conversation_id] for conversation_id in ids if conversation_id in rows])
    return {row.id: row.assignee_id for row in rows.values() if row.assignee_id is not None}


async def drain(c: Change, app_ids: Iterable[int]) -> None:
    """Inside a transaction in which someone may have become eligible: each app's queue (open,
    unassigned), oldest first (`created_at`, then id), goes to its eligible users until their free
    slots run out."""
    for app_id in await _routed(app_ids):
        turns = await _turns(app_id)
        if turns is None:
            continue
        free = turns.free_slots()
        if free:
            queue = (
                Conversation.filter(
                    app_id=app_id, status=ConversationStatus.OPEN, assignee_id__isnull=True, deleted_at__isnull=True
                )
                .order_by("created_at", "id")
                .limit(free)
                .select_for_update(skip_locked=True)
            )
            for conversation in await queue:
                if not await _give(c, turns, conversation):
                    break
        await _save_turn(turns)


async def user_app_ids(user_id: int) -> list[int]:
    """The apps a user has access to: the queues their becoming eligible may drain."""
    return sorted(await ids_of(AppAccess.filter(user_id=user_id), "app_id"))


async def set_assignment_policy(
    viewer: Viewer, app_id: str, mode: AssignmentMode, max_open_per_user: int | None
) -> MessagingApp:
    """ADMIN (R-SETTINGS). A cap is 1 to MAX_CAP; under MANUAL it is kept for later. The app's
    queue is drained at once under the new policy."""
    viewer.require_admin()
    app = await account_app(viewer, app_id)
    if max_open_per_user is not None and not 1 <= max_open_per_user <= MAX_CAP:
        raise ValidationFailed(f"maxOpenPerUser must be 1 to {MAX_CAP}, or null for no cap.", field="maxOpenPerUser")
    async with change() as c:
        await lock_routing([app.id])
        await MessagingApp.filter(id=app.id).update(assignment_mode=mode, max_open_per_user=max_open_per_user)
        app.assignment_mode, app.max_open_per_user = mode, max_open_per_user
        await drain(c, [app.id])
    return app
