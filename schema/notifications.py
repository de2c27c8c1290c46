"""Notifications: settings, the stored list, marking read, and the desktop subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
from strawberry.types import Info

import models
from resolvers import notifications
from schema.context import loaders_of, viewer_of
from schema.loaders import related
from schema.realtime import live_notification_ids
from schema.types import Conversation, Message, Node, PageInfo, User
from resolvers.ids import to_api_id

NotificationKind = strawberry.enum(models.NotificationKind, name="NotificationKind")


@strawberry.type
class NotificationSetting:
    kind: NotificationKind
    desktop: bool
    email: bool

    @classmethod
    def of(cls, choice: notifications.Choice) -> NotificationSetting:
        return cls(kind=choice.kind, desktop=choice.desktop, email=choice.email)


@strawberry.input
class NotificationSettingInput:
    kind: NotificationKind
    desktop: bool
    email: bool


async def _visible_conversation(info: Info, notification: models.Notification) -> models.Conversation | None:
    row = await loaders_of(info).conversation.load(notification.conversation_id)
    if row is None or row.deleted_at is not None or row.app_id not in await viewer_of(info).app_ids():
        return None
    return row


@strawberry.type
class Notification(Node):
    row: strawberry.Private[models.Notification]

    @classmethod
    def of(cls, row: models.Notification) -> Notification:
        return cls(id=strawberry.ID(to_api_id("Notification", row.id)), row=row)

    @strawberry.field
    def kind(self) -> NotificationKind:
        return self.row.kind

    @strawberry.field
    async def conversation(self, info: Info) -> Conversation | None:
        row = await _visible_conversation(info, self.row)
        return Conversation.of(row) if row else None

    @strawberry.field
    async def message(self, info: Info) -> Message | None:
        if self.row.message_id is None:
            return None
        row = await loaders_of(info).message.load(self.row.message_id)
        if row is None or row.conversation_id != self.row.conversation_id:  # a deleted conversation's tombstone
            return None
        return Message.of(row) if await _visible_conversation(info, self.row) else None

    @strawberry.field(description="Who caused it (e.g. the user who assigned), if a user did.")
    def actor(self, info: Info) -> User | None:
        return related(self.row, "actor", loaders_of(info).user, User.of)  # type: ignore[return-value]

    @strawberry.field
    def read_at(self) -> datetime | None:
        return self.row.read_at

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at


@strawberry.type
class NotificationEdge:
    cursor: str
    node: Notification


@strawberry.type
class NotificationConnection:
    edges: list[NotificationEdge]
    page_info: PageInfo
    unread_count: int


@strawberry.type
class NotificationsQuery:
    @strawberry.field
    async def notification_settings(self, info: Info) -> list[NotificationSetting]:
        return [NotificationSetting.of(choice) for choice in await notifications.notification_settings(viewer_of(info))]

    @strawberry.field
    async def notifications(
        self, info: Info, unread_only: bool | None = False, first: int | None = 25, after: str | None = None
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
    @strawberry.mutation
    async def update_notification_settings(
        self, info: Info, settings: list[NotificationSettingInput]
    ) -> list[NotificationSetting]:
        choices = [notifications.Choice(models.NotificationKind(s.kind), s.desktop, s.email) for s in settings]
        return [NotificationSetting.of(c) for c in await notifications.update_notification_settings(viewer_of(info), choices)]

    @strawberry.mutation(description="No ids: mark all read. Returns how many changed.")
    async def mark_notifications_read(self, info: Info, ids: list[strawberry.ID] | None = None) -> int:
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
