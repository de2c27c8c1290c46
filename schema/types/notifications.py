"""Notifications: what a user was told, and how they choose to be told."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

import models
from resolvers import notifications
from resolvers.access import live_message, visible_conversation
from schema.context import loaders_of, viewer_of
from schema.loaders import related
from schema.types.common import Connection, Node, connection, describe_enum, wrap
from schema.types.inbox import Conversation, Message
from schema.types.team import User

NotificationKind = models.NotificationKind
describe_enum(
    NotificationKind,
    "NotificationKind",
    "Why a user is told something (R-NOTIFY); nobody is told of what they did themselves.",
    {
        "NEW_MESSAGE_ASSIGNED_TO_ME": "A contact wrote in a conversation assigned to you (default: desktop and email on).",
        "NEW_MESSAGE_ASSIGNED_TO_OTHERS": "A contact wrote in a conversation assigned to someone else (default: off).",
        "NEW_MESSAGE_UNASSIGNED": "A contact wrote in an unassigned conversation, a new one too (default: desktop on).",
        "CONVERSATION_ASSIGNED_TO_ME": "Someone else assigned a conversation to you (default: desktop and email on).",
        "MENTIONED": "Someone mentioned you in an internal comment (R-COMMENT; default: desktop and email on).",
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


async def _visible_conversation(info: Info, notification: models.Notification) -> models.Conversation | None:
    row = await loaders_of(info).conversation.load(notification.conversation_id)
    return await visible_conversation(viewer_of(info), row)


@strawberry.type(
    description="Something the viewer was told (R-NOTIFY). Stored only for the kinds they have desktop on for."
)
class Notification(Node):
    row: strawberry.Private[models.Notification]

    @classmethod
    def of(cls, row: models.Notification) -> Notification:
        return wrap(cls, "Notification", row)

    @strawberry.field(description="What happened.")
    def kind(self) -> NotificationKind:
        return self.row.kind

    @strawberry.field(
        description="The conversation it is about; null once it is deleted or its app is no longer shared with the viewer."
    )
    async def conversation(self, info: Info) -> Conversation | None:
        row = await _visible_conversation(info, self.row)
        return Conversation.of(row) if row else None

    @strawberry.field(
        description="The message that caused it (the NEW_MESSAGE kinds); null otherwise, or when its conversation is not shown."
    )
    async def message(self, info: Info) -> Message | None:
        if self.row.message_id is None:
            return None
        row = live_message(await loaders_of(info).message.load(self.row.message_id))
        return Message.of(row) if row and await _visible_conversation(info, self.row) else None

    @strawberry.field(description="Who caused it (e.g. the user who assigned), if a user did.")
    def actor(self, info: Info) -> User | None:
        return related(self.row, "actor", loaders_of(info).user, User.of)  # type: ignore[return-value]

    @strawberry.field(description="When it was marked read; null while unread.")
    def read_at(self) -> datetime | None:
        return self.row.read_at

    @strawberry.field(description="When it happened.")
    def created_at(self) -> datetime:
        return self.row.created_at


@connection(
    "A page of the viewer's notifications, newest first.",
    edges="This page's notifications, newest first.",
)
class NotificationConnection(Connection[Notification]):
    unread_count: int = strawberry.field(
        description="How many of all the viewer's notifications are unread, not only on this page."
    )
