"""R-NOTIFY: who is told of an inbound message or an assignment, and how (desktop rows, emails)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import Conversation, Message, Notification, NotificationKind, NotificationSetting
from models.sql import MEMBERS_NOTIFICATION_SETTINGS, fetch
from resolvers import clock
from resolvers.access import visible_app_ids, visible_notifications
from resolvers.emails import queue_email
from resolvers.errors import ValidationFailed
from resolvers.events import Change
from resolvers.ids import pk_of
from resolvers.pagination import cursor_id, decode_cursor, encode_cursor, page_size
from resolvers.viewer import Viewer
from subscriptions.publisher import publish_notifications

DEFAULTS: dict[NotificationKind, tuple[bool, bool]] = {
    NotificationKind.NEW_MESSAGE_ASSIGNED_TO_ME: (True, True),
    NotificationKind.NEW_MESSAGE_ASSIGNED_TO_OTHERS: (False, False),
    NotificationKind.NEW_MESSAGE_UNASSIGNED: (True, False),
    NotificationKind.CONVERSATION_ASSIGNED_TO_ME: (True, True),
    NotificationKind.MENTIONED: (True, True),
}
MAX_MARK_IDS = 1_000


@dataclass(frozen=True)
class Choice:
    kind: NotificationKind
    desktop: bool
    email: bool


async def settings_of(user_ids: Iterable[int]) -> dict[int, dict[NotificationKind, Choice]]:
    """Every user's choice per kind, defaults filled in, in one query."""
    ids = list(user_ids)
    chosen = {user_id: {kind: Choice(kind, *DEFAULTS[kind]) for kind in NotificationKind} for user_id in ids}
    for row in await NotificationSetting.filter(user_id__in=ids):
        chosen[row.user_id][row.kind] = Choice(row.kind, row.desktop, row.email)
    return chosen


async def members_settings(app_id: int) -> dict[int, dict[NotificationKind, Choice]]:
    """`settings_of` every user with access to the app, found with their settings in one query."""
    chosen: dict[int, dict[NotificationKind, Choice]] = {}
    for row in await fetch(MEMBERS_NOTIFICATION_SETTINGS, app_id):
        choices = chosen.setdefault(row["user_id"], {kind: Choice(kind, *DEFAULTS[kind]) for kind in NotificationKind})
        if row["kind"] is not None:
            kind = NotificationKind(row["kind"])
            choices[kind] = Choice(kind, bool(row["desktop"]), bool(row["email"]))
    return chosen


async def notification_settings(viewer: Viewer) -> list[Choice]:
    return list((await settings_of([viewer.id]))[viewer.id].values())


async def update_notification_settings(viewer: Viewer, settings: list[Choice]) -> list[Choice]:
    kinds = [choice.kind for choice in settings]
    if len(set(kinds)) != len(kinds):
        raise ValidationFailed("Each kind may appear once.", field="settings")
    for attempt in range(2):
        try:
            async with in_transaction():
                for choice in settings:
                    updated = await NotificationSetting.filter(user_id=viewer.id, kind=choice.kind).update(
                        desktop=choice.desktop, email=choice.email
                    )
                    if not updated:
                        await NotificationSetting.create(
                            user_id=viewer.id, kind=choice.kind, desktop=choice.desktop, email=choice.email
                        )
            break
        except IntegrityError:  # a concurrent first save of the same kind: the second try updates it
            if attempt:
                raise
    return await notification_settings(viewer)


# ---- the rule: called inside the change that causes the notification


async def notify_inbound_message(c: Change, conversation: Conversation, message: Message) -> None:
    """Everyone with access to the app, each by the conversation's assignment as they see it."""
    chosen = await members_settings(conversation.app_id)
    assignee = conversation.assignee_id
    kinds = {
        user_id: (
            NotificationKind.NEW_MESSAGE_UNASSIGNED
            if assignee is None
            else NotificationKind.NEW_MESSAGE_ASSIGNED_TO_ME
            if assignee == user_id
            else NotificationKind.NEW_MESSAGE_ASSIGNED_TO_OTHERS
        )
        for user_id in chosen
    }
    await _notify(c, conversation, kinds, message_id=message.id, actor_id=None, chosen=chosen)


async def notify_assigned(c: Change, conversation: Conversation, actor_id: int | None) -> None:
    """The new assignee, unless they assigned themselves (R-ASSIGN checked their access); no actor:
    the app's routing policy assigned them (R-ROUTE)."""
    if conversation.assignee_id is None or conversation.assignee_id == actor_id:
        return
    kinds = {conversation.assignee_id: NotificationKind.CONVERSATION_ASSIGNED_TO_ME}
    await _notify(c, conversation, kinds, message_id=None, actor_id=actor_id)


async def notify_mentioned(
    c: Change, conversation: Conversation, comment: Message, user_ids: Sequence[int], *, actor_id: int
) -> None:
    """R-COMMENT: each mentioned user (R-COMMENT checked their access), not the author."""
    kinds = dict.fromkeys(user_ids, NotificationKind.MENTIONED)
    await _notify(c, conversation, kinds, message_id=comment.id, actor_id=actor_id)


async def _notify(
    c: Change,
    conversation: Conversation,
    kinds: dict[int, NotificationKind],
    *,
    message_id: int | None,
    actor_id: int | None,
    chosen: dict[int, dict[NotificationKind, Choice]] | None = None,
) -> None:
    if actor_id is not None:
        kinds.pop(actor_id, None)
    if not kinds:
        return
    chosen = chosen or await settings_of(kinds)
    now = clock.now()
    created: list[Notification] = []
    for user_id, kind in kinds.items():
        choice = chosen[user_id][kind]
        if choice.desktop:
            created.append(
                await Notification.create(
                    account_id=conversation.account_id,
                    user_id=user_id,
                    app_id=conversation.app_id,
                    kind=kind,
                    conversation_id=conversation.id,
                    message_id=message_id,
                    actor_id=actor_id,
                    created_at=now,
                )
            )
        if choice.email:
            await queue_email(c, conversation, user_id, kind, message_id=message_id, actor_id=actor_id)
    if created:
        pairs = [(row.user_id, row.id) for row in created]
        c.after_commit.append(lambda: publish_notifications(pairs))


# ---- the stored list


@dataclass
class NotificationPage:
    rows: list[Notification]
    has_next: bool
    has_previous: bool
    unread_count: int


def notification_cursor(row: Notification) -> str:
    return encode_cursor(row.id)


async def notifications_page(
    viewer: Viewer, *, unread_only: bool = False, first: int | None = None, after: str | None = None
) -> NotificationPage:
    """Newest first, keyset on id."""
    size = page_size(first)
    visible = visible_notifications(viewer, await visible_app_ids(viewer))
    query = visible.filter(read_at__isnull=True) if unread_only else visible
    unread = await visible.filter(read_at__isnull=True).count()
    if after:
        (pk,) = decode_cursor(after, 1)
        query = query.filter(id__lt=cursor_id(pk, Notification))
    rows = await query.order_by("-id").limit(size + 1)
    return NotificationPage(rows[:size], len(rows) > size, after is not None, unread)


async def mark_notifications_read(viewer: Viewer, ids: Sequence[str] | None) -> int:
    """Marks the viewer's unread notifications read (all without ids); others' ids change nothing."""
    query = Notification.filter(user_id=viewer.id, read_at__isnull=True)
    if ids is not None:
        if len(ids) > MAX_MARK_IDS:
            raise ValidationFailed(f"At most {MAX_MARK_IDS} ids at once.", field="ids")
        query = query.filter(id__in=[pk_of("Notification", api_id) for api_id in ids])
    return await query.update(read_at=clock.now())


async def visible_notification(viewer: Viewer, pk: int) -> Notification | None:
    return await visible_notifications(viewer, await visible_app_ids(viewer)).filter(id=pk).first()
