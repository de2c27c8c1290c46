"""Notifications: settings, the stored list, marking read, and the desktop subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

import models
from resolvers import notifications
from resolvers.access import live_message, visible_conversation
from schema.context import loaders_of, viewer_of
from schema.loaders import related
from schema.realtime import live_notification_ids
from schema.types import After, Conversation, First, Message, Node, PageInfo, User, described_enum
from resolvers.ids import to_api_id

NotificationKind = described_enum(
    models.NotificationKind,
    "NotificationKind",
    "Why a user is told something (R-NOTIFY); nobody is told of what they did themselves.",
    {
        "NEW_MESSAGE_ASSIGNED_TO_ME": "A contact wrote in a conversation assigned to you (default: desktop and email on).",
        "NEW_MESSAGE_ASSIGNED_TO_OTHERS": "A contact wrote in a conversation assigned to someone else (default: off).",
        "NEW_MESSAGE_UNASSIGNED": "A contact wrote in an unassigned conversation, a new one too (default: desktop on).",
        "CONVERSATION_ASSIGNED_TO_ME": "Someone else assigned a conversation to you (default: desktop and email on).",
    },
)


@strawberry.type(description="How the viewer is told of one kind (R-NOTIFY).")
class NotificationSetting:
    kind: NotificationKind = strawberry.field(description="Which kind.")
    desktop: bool = strawberry.field(description="In the `notifications` list and subscription.")
    email: bool = strawberry.field(
        description="By email: at most one per conversation per EMAIL_COALESCE_SECONDS (default 300), with every "
        "message of that period."
    )

    @classmethod
    def of(cls, choice: notifications.Choice) -> NotificationSetting:
        return cls(kind=choice.kind, desktop=choice.desktop, email=choice.email)


@strawberry.input(description="The viewer's new choice for one kind.")
class NotificationSettingInput:
    kind: NotificationKind = strawberry.field(description="Which kind.")
    desktop: bool = strawberry.field(description="In the `notifications` list and subscription.")
    email: bool = strawberry.field(description="By email.")


async def _conversation(info: Info, notification: models.Notification) -> models.Conversation | None:
    row = await loaders_of(info).conversation.load(notification.conversation_id)
    return await visible_conversation(viewer_of(info), row)


@strawberry.type(
    description="Something the viewer was told (R-NOTIFY). Stored only for the kinds they have desktop on for."
)
class Notification(Node):
    row: strawberry.Private[models.Notification]

    @classmethod
    def of(cls, row: models.Notification) -> Notification:
        return cls(id=strawberry.ID(to_api_id("Notification", row.id)), row=row)

    @strawberry.field(description="What happened.")
    def kind(self) -> NotificationKind:
        return self.row.kind

    @strawberry.field(
        description="The conversation it is about; null once it is deleted or its app is no longer shared with the viewer."
    )
    async def conversation(self, info: Info) -> Conversation | None:
        row = await _conversation(info, self.row)
        return Conversation.of(row) if row else None

    @strawberry.field(
        description="The message that caused it (the NEW_MESSAGE kinds); null otherwise, or when its conversation is not shown."
    )
    async def message(self, info: Info) -> Message | None:
        if self.row.message_id is None:
            return None
        row = live_message(await loaders_of(info).message.load(self.row.message_id))
        return Message.of(row) if row and await _conversation(info, self.row) else None

    @strawberry.field(description="Who caused it (e.g. the user who assigned), if a user did.")
    def actor(self, info: Info) -> User | None:
        return related(self.row, "actor", loaders_of(info).user, User.of)  # type: ignore[return-value]

    @strawberry.field(description="When it was marked read; null while unread.")
    def read_at(self) -> datetime | None:
        return self.row.read_at

    @strawberry.field(description="When it happened.")
    def created_at(self) -> datetime:
        return self.row.created_at


@strawberry.type(description="A notification and its place in the list.")
class NotificationEdge:
    cursor: str = strawberry.field(description="Pass it as `after` to continue after this notification.")
    node: Notification = strawberry.field(description="The notification.")


@strawberry.type(description="A page of the viewer's notifications, newest first.")
class NotificationConnection:
    edges: list[NotificationEdge] = strawberry.field(description="This page's notifications, newest first.")
    page_info: PageInfo = strawberry.field(description="Cursors, and whether more follow.")
    unread_count: int = strawberry.field(
        description="How many of all the viewer's notifications are unread, not only on this page."
    )


@strawberry.type
class NotificationsQuery:
    @strawberry.field(description="The viewer's choice for every kind, defaults included (R-NOTIFY).")
    async def notification_settings(self, info: Info) -> list[NotificationSetting]:
        return [NotificationSetting.of(choice) for choice in await notifications.notification_settings(viewer_of(info))]

    @strawberry.field(description="The viewer's notifications about conversations they can still see, newest first.")
    async def notifications(
        self,
        info: Info,
        unread_only: Annotated[bool | None, strawberry.argument(description="Only the unread ones.")] = False,
        first: First = 25,
        after: After = None,
    ) -> NotificationConnection:
        page = await notifications.notifications_page(
            viewer_of(info), unread_only=bool(unread_only), first=first, after=after
        )
        edges = [NotificationEdge(cursor=notifications.notification_cursor(row), node=Notification.of(row)) for row in page.rows]
        return NotificationConnection(
            edges=edges,
            page_info=PageInfo.of(edges, has_next=page.has_next, has_previous=page.has_previous),
            unread_count=page.unread_count,
        )


@strawberry.type
class NotificationsMutation:
    @strawberry.mutation(
        description="Changes the viewer's choices for the kinds given (the others keep theirs) and returns every kind's. "
        "VALIDATION_FAILED if a kind appears twice."
    )
    async def update_notification_settings(
        self,
        info: Info,
        settings: Annotated[list[NotificationSettingInput], strawberry.argument(description="One entry per kind to change.")],
    ) -> list[NotificationSetting]:
        choices = [notifications.Choice(models.NotificationKind(s.kind), s.desktop, s.email) for s in settings]
        return [NotificationSetting.of(c) for c in await notifications.update_notification_settings(viewer_of(info), choices)]

    @strawberry.mutation(description="No ids: mark all read. Returns how many changed.")
    async def mark_notifications_read(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(
                description="The viewer's notifications to mark, at most 1,000 (VALIDATION_FAILED beyond); "
                "ids of others' change nothing."
            ),
        ] = None,
    ) -> int:
        return await notifications.mark_notifications_read(viewer_of(info), ids)


@strawberry.type
class NotificationsSubscription:
    @strawberry.subscription(description="The viewer's desktop notifications, as their settings allow.")
    async def notifications(self, info: Info) -> AsyncGenerator[Notification, None]:
        viewer = viewer_of(info)
        async for notification_id in live_notification_ids(info):
            viewer.forget_access()  # access is checked when delivered, not only at subscribe time
            row = await notifications.visible_notification(viewer, notification_id)
            if row is not None:
                yield Notification.of(row)
