"""What a viewer may see, written once: every "may this viewer see this conversation, this message"
of the code asks it here. What a viewer may not see does not exist for them: NOT_FOUND, never FORBIDDEN.

A viewer sees the conversations of their account whose app is shared with them (admins included,
R-SETTINGS) and that are not deleted (R-DELETE); messages, contacts and notifications through their
conversation and app. Three forms of the one rule:

- a row the caller has loaded: `visible_conversation(viewer, row)` → the row or None;
- an id from the client: `require_conversation(viewer, id)` → the row, else NOT_FOUND;
- many rows: `visible_conversations(viewer, app_ids)` and its siblings → a query the caller
  narrows, `app_ids` being the viewer's apps (`visible_app_ids`) or some of them.

Real time checks it per delivery instead: an event reaches its app's `audience`, and the event's
`event_conversation` needs nothing else of the viewer, so one rendering of the event serves every
recipient (schema/realtime.py shares it among the subscribers of a group).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tortoise.queryset import QuerySet

from models import (
    ApiToken,
    AppAccess,
    Contact,
    Conversation,
    InboxEvent,
    InboxEventType,
    Message,
    MessagingApp,
    Notification,
    User,
)
from models.sql import USER_ID_ARRAY_OF_APP, USER_IDS_OF_APP, Dialect, dialect, fetch, instances, one_conversation
from resolvers.errors import NotFound
from resolvers.ids import pk_of
from resolvers.viewer import Viewer, unexpired

# ---- apps


async def visible_app_ids(viewer: Viewer, app_id: str | None = None) -> list[int]:
    """The apps whose conversations the viewer sees, in id order; just `app_id` when it is asked
    for and is one of them (NOT_FOUND otherwise)."""
    shared = await viewer.app_ids()
    if app_id is None:
        return sorted(shared)
    pk = pk_of("MessagingApp", app_id)
    if pk not in shared:
        raise NotFound("No such messaging app.")
    return [pk]


async def visible_apps(viewer: Viewer) -> QuerySet[MessagingApp]:
    """Admins see every app of the account (to manage it); members the apps shared with them."""
    query = MessagingApp.filter(account_id=viewer.account_id)
    if not viewer.is_admin:
        query = query.filter(id__in=list(await viewer.app_ids()))
    return query


async def has_access(user_id: int, app_id: int) -> bool:
    """Whether the app is shared with the user (e.g. an assignee to be), who then sees its conversations."""
    return await AppAccess.exists(app_id=app_id, user_id=user_id)


async def audience(app_id: int) -> frozenset[int]:
    """The users an event of `app_id` may reach now: those it is shared with (checked per delivery)."""
    if dialect() == Dialect.POSTGRES:
        (row,) = await fetch(USER_ID_ARRAY_OF_APP, app_id)
        return frozenset(row["user_ids"] or ())
    return frozenset(row["user_id"] for row in await fetch(USER_IDS_OF_APP, app_id))


async def account_app(viewer: Viewer, app_id: str) -> MessagingApp:
    """An app of the viewer's account, shared or not (for admins' settings)."""
    app = await MessagingApp.get_or_none(id=pk_of("MessagingApp", app_id), account_id=viewer.account_id)
    if app is None:
        raise NotFound("No such messaging app.")
    return app


async def account_user(viewer: Viewer, user_id: str) -> User:
    user = await User.get_or_none(id=pk_of("User", user_id), account_id=viewer.account_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def visible_tokens(viewer: Viewer) -> QuerySet[ApiToken]:
    """The tokens that still authenticate which the viewer may see and revoke (R-SIGNIN): their
    own; an ADMIN's, every token of the account."""
    tokens = ApiToken.filter(unexpired())
    return tokens.filter(user__account_id=viewer.account_id) if viewer.is_admin else tokens.filter(user_id=viewer.id)


# ---- conversations and what hangs on them


async def visible_conversation(viewer: Viewer, conversation: Conversation | None) -> Conversation | None:
    """A loaded conversation (a loader's, a note's) if the viewer may see it, else None."""
    if conversation is None or conversation.deleted_at is not None or conversation.account_id != viewer.account_id:
        return None
    return conversation if conversation.app_id in await viewer.app_ids() else None


async def require_conversation(viewer: Viewer, conversation_id: str, *, for_update: bool = False) -> Conversation:
    """The conversation a client names, if the viewer may see it; else NOT_FOUND. `for_update`
    takes its row lock (inside a transaction), and so re-checks it under the lock."""
    pk = pk_of("Conversation", conversation_id)
    values: list[Any] = []

    def value(item: Any) -> str:
        values.append(item)
        return f"${len(values)}"

    where = f'c."id" = {value(pk)} AND ' + visible_conversations_sql(viewer, await visible_app_ids(viewer), "c", value)
    found = instances(Conversation, await fetch(one_conversation(where, for_update=for_update), *values))
    if not found:
        raise NotFound("No such conversation.")
    return found[0]


def visible_conversations(viewer: Viewer, app_ids: Sequence[int]) -> QuerySet[Conversation]:
    """The conversations of `app_ids` (the viewer's, from `visible_app_ids`) that the viewer may see."""
    return Conversation.filter(account_id=viewer.account_id, app_id__in=app_ids, deleted_at__isnull=True)


def visible_conversations_sql(viewer: Viewer, app_ids: Sequence[int], alias: str, value: Callable[[Any], str]) -> str:
    """`visible_conversations` as an SQL condition on the conversation aliased `alias` (for the
    statements written as SQL, models/sql.py); `value` places a parameter and gives its `$n`."""
    return (
        f'{alias}."account_id" = {value(viewer.account_id)} AND {alias}."app_id" = ANY({value(list(app_ids))}::int[])'
        f' AND {alias}."deleted_at" IS NULL'
    )


def visible_messages(viewer: Viewer, app_ids: Sequence[int]) -> QuerySet[Message]:
    """A deleted conversation's messages are tombstones without a conversation: they do not exist."""
    return Message.filter(
        account_id=viewer.account_id,
        app_id__in=app_ids,
        conversation_id__isnull=False,
        conversation__deleted_at__isnull=True,
    )


def visible_contacts(viewer: Viewer, app_ids: Sequence[int]) -> QuerySet[Contact]:
    return Contact.filter(account_id=viewer.account_id, app_id__in=app_ids)


def visible_notifications(viewer: Viewer, app_ids: Sequence[int]) -> QuerySet[Notification]:
    """The viewer's own notifications, about conversations they may still see."""
    return Notification.filter(user_id=viewer.id, app_id__in=app_ids, conversation__deleted_at__isnull=True)


# ---- real time: the event's audience is checked per delivery, nothing here asks who the viewer is


def event_conversation(event: InboxEvent, conversation: Conversation | None) -> Conversation | None:
    """The event's conversation as it is now; none for CONVERSATION_DELETED, nor while it is deleted (R-DELETE)."""
    if event.type == InboxEventType.CONVERSATION_DELETED or conversation is None or conversation.deleted_at:
        return None
    return conversation


def live_message(message: Message | None) -> Message | None:
    """A message erased with its conversation (R-DELETE) is a tombstone: not shown."""
    return message if message is not None and message.conversation_id is not None else None
