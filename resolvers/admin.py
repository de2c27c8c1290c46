"""R-ADMIN: admins change users' names, emails and roles, deactivate and reactivate them.

The account always keeps an ACTIVE admin. The changes that could take the last one away (a demotion,
a deactivation) run under one lock per account (`AdvisoryLock.ACCOUNT_ADMINS` on PostgreSQL; SQLite
runs one write transaction at a time) and count the admins under it, so two admins demoting each
other at once leave one of them an admin. Under the lock the actor is read again too: an admin
demoted a moment ago is no longer one.
"""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import ApiToken, Conversation, ConversationStatus, InboxEventType, Role, User, UserStatus
from models.sql import ACTIVE_USER, AND_AVAILABLE, LOCK_ACCOUNT_ADMINS, AdvisoryLock, Dialect, dialect, fetch
from resolvers import routing
from resolvers.access import account_user
from resolvers.errors import Forbidden, NotFound, ValidationFailed
from resolvers.events import change
from resolvers.users import user_email, user_name
from resolvers.versions import compare_and_set
from resolvers.viewer import Viewer, rights_changed

LAST_ADMIN = "LAST_ADMIN"  # extensions.reason of the FORBIDDEN that keeps the last active admin


async def holds_active(user_id: int, *, available: bool = False) -> bool:
    """Inside a transaction that is about to give `user_id` an open conversation (an assignment, a
    reopening): whether they are ACTIVE (and `available`). On PostgreSQL the row is read FOR SHARE,
    so a deactivation committing meanwhile either waits for this transaction (and then unassigns
    what it gave) or is seen here: a deactivated user never keeps an open conversation."""
    statement = ACTIVE_USER + (AND_AVAILABLE if available else "")
    if dialect() == Dialect.POSTGRES:
        statement += " FOR SHARE"
    return bool(await fetch(statement, user_id))


async def _lock_admins(viewer: Viewer, user_pk: int) -> User:
    """Inside a transaction: takes the account's admin lock, then reads again, under it, the actor
    (still an ACTIVE admin, else FORBIDDEN) and the user they change (NOT_FOUND if gone)."""
    if dialect() == Dialect.POSTGRES:
        await fetch(LOCK_ACCOUNT_ADMINS, AdvisoryLock.ACCOUNT_ADMINS, viewer.account_id)
    rows = {row.id: row for row in await User.filter(account_id=viewer.account_id, id__in=[viewer.id, user_pk])}
    actor = rows.get(viewer.id)
    if actor is None or actor.role != Role.ADMIN or actor.status != UserStatus.ACTIVE:
        raise Forbidden("Only an admin may change users.")
    if user_pk not in rows:
        raise NotFound("No such user.")
    return rows[user_pk]


async def _keep_an_admin(user: User) -> None:
    """FORBIDDEN (reason LAST_ADMIN) if `user` is the account's only ACTIVE admin; under the lock."""
    if user.role != Role.ADMIN or user.status != UserStatus.ACTIVE:
        return
    others = User.filter(account_id=user.account_id, role=Role.ADMIN, status=UserStatus.ACTIVE).exclude(id=user.id)
    if not await others.exists():
        raise Forbidden(
            "The account's last active admin must stay an admin: make someone else admin first.", reason=LAST_ADMIN
        )


async def update_user(
    viewer: Viewer, user_id: str, *, name: str | None = None, email: str | None = None, role: Role | None = None
) -> User:
    """Changes what is given and keeps the rest. A duplicate email in the account is VALIDATION_FAILED
    (field `email`); demoting the last active admin is FORBIDDEN (reason LAST_ADMIN)."""
    viewer.require_admin()
    user = await account_user(viewer, user_id)
    changes: dict[str, object] = {}
    if name is not None:
        changes["name"] = user_name(name)
    if email is not None:
        changes["email"] = user_email(email)
    try:
        async with in_transaction():
            user = await _lock_admins(viewer, user.id)
            if role is not None and role != user.role:
                if role != Role.ADMIN:
                    await _keep_an_admin(user)
                changes["role"] = role
            changes = {key: value for key, value in changes.items() if getattr(user, key) != value}
            if changes:
                await User.filter(id=user.id).update(**changes)
                for key, value in changes.items():
                    setattr(user, key, value)
    except IntegrityError:
        raise ValidationFailed(f"A user with the email {changes['email']} already exists.", field="email") from None
    if "role" in changes:
        await rights_changed([user.id])  # their open sockets hold the old role: closed at once (4403)
    return user


async def deactivate_user(viewer: Viewer, user_id: str) -> User:
    """The user can no longer sign in: their tokens are deleted, their open sockets closed on every
    process (4403), their open conversations unassigned (one CONVERSATION_UNASSIGNED each, the
    admin as actor), and they are unavailable. Their history, shares, notes and closed
    conversations stay. Deactivating a deactivated user changes nothing."""
    viewer.require_admin()
    user = await account_user(viewer, user_id)
    async with change() as c:
        user = await _lock_admins(viewer, user.id)
        if user.status == UserStatus.DEACTIVATED:
            return user
        await _keep_an_admin(user)
        # The UPDATE takes the user's row lock first: an assignment to them in flight (which reads the
        # row FOR SHARE, resolvers/assignment.py) commits before, and is unassigned below, or after,
        # and is refused. Same order as assignments (user, then conversation): no deadlock.
        await User.filter(id=user.id).update(status=UserStatus.DEACTIVATED, available=False)
        user.status, user.available = UserStatus.DEACTIVATED, False
        await ApiToken.filter(user_id=user.id).delete()
        held = await Conversation.filter(
            assignee_id=user.id, status=ConversationStatus.OPEN, deleted_at__isnull=True
        ).select_for_update()
        for conversation in held:
            # Under the row lock the version read is the current one: compare-and-set cannot lose.
            await compare_and_set(conversation, assignee_id=None)
            c.record(InboxEventType.CONVERSATION_UNASSIGNED, conversation, actor_id=viewer.id)
    # R-ROUTE: what they held is queued and goes to the others, in a transaction of its own right
    # after: routing takes an app's lock before users' rows, and this one holds the user's row.
    async with change() as c:
        await routing.drain(c, {conversation.app_id for conversation in held})
    await rights_changed([user.id])
    return user


async def reactivate_user(viewer: Viewer, user_id: str) -> User:
    """ACTIVE and available again, like a new user; they come back with no token (sign-in or an
    invitation gives them one) and with none of the conversations they had."""
    viewer.require_admin()
    user = await account_user(viewer, user_id)
    async with in_transaction():
        user = await _lock_admins(viewer, user.id)
        if user.status == UserStatus.ACTIVE:
            return user
        await User.filter(id=user.id).update(status=UserStatus.ACTIVE, available=True)
        user.status, user.available = UserStatus.ACTIVE, True
    # R-ROUTE: they take queued conversations at once, in a transaction of their own (as below).
    async with change() as c:
        await routing.drain(c, await routing.user_app_ids(user.id))
    return user
