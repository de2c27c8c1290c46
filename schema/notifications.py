"""Notifications: settings, the stored list, marking read, and the desktop subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

import models
from resolvers import notifications
from schema.context import viewer_of
from schema.realtime import live_notification_ids
from schema.types import After, First, Notification, NotificationConnection, NotificationKind, NotificationSetting


@strawberry.input(description="The viewer's new choice for one kind.")
class NotificationSettingInput:
    kind: NotificationKind = strawberry.field(description="Which kind.")
    desktop: bool = strawberry.field(description="In the `notifications` list and subscription.")
    email: bool = strawberry.field(description="By email.")


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
        return NotificationConnection.of(
            page, notifications.notification_cursor, Notification.of, unread_count=page.unread_count
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
        settings: Annotated[
            list[NotificationSettingInput], strawberry.argument(description="One entry per kind to change.")
        ],
    ) -> list[NotificationSetting]:
        choices = [notifications.Choice(models.NotificationKind(s.kind), s.desktop, s.email) for s in settings]
        return [
            NotificationSetting.of(c)
            for c in await notifications.update_notification_settings(viewer_of(info), choices)
        ]

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
