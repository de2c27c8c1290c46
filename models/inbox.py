from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, NotRequired, TypedDict

from tortoise import fields
from tortoise.models import Model

from models.typed import nullable_char_enum, nullable_text

if TYPE_CHECKING:
    from models.accounts import Account, User
    from models.apps import MessagingApp
    from models.templates import MessageTemplate


class ConversationStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class Direction(StrEnum):
    INBOUND = "INBOUND"
    OUTBOUND = "OUTBOUND"
    INTERNAL = "INTERNAL"  # a comment for the team, never sent (R-COMMENT)


class DeliveryStatus(StrEnum):
    RECEIVED = "RECEIVED"
    QUEUED = "QUEUED"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    READ = "READ"
    FAILED = "FAILED"


class Attachment(TypedDict):
    """One element of `Message.attachments` (a JSON column): keys as the API and the providers spell them."""

    url: str
    contentType: str | None
    # R-MEDIA: a file in our store (inbound: once copied, `state` says how far; outbound: `fileId`).
    filename: NotRequired[str | None]
    size: NotRequired[int | None]
    state: NotRequired[str]
    fileId: NotRequired[int]


class Contact(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="contacts", on_delete=fields.CASCADE
    )
    account_id: int
    app: fields.ForeignKeyRelation[MessagingApp] = fields.ForeignKeyField(
        "models.MessagingApp", related_name="contacts", on_delete=fields.CASCADE
    )
    app_id: int
    external_id = fields.CharField(max_length=255)
    name = fields.CharField(max_length=255, null=True)
    avatar_url = nullable_text()
    created_at = fields.DatetimeField()

    class Meta:
        table = "contact"
        unique_together = (("app", "external_id"),)


class Conversation(Model):
    """One row per (app, contact), ever: deleting hides it and erases its messages (R-DELETE).

    The last message is kept on the row (Tortoise refuses cyclic foreign keys) so a section page
    needs no per-row query. `version` moves on every assignment or status change; writers
    compare-and-set on it so two concurrent assignments never lose an update (R-ASSIGN).
    """

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="conversations", on_delete=fields.CASCADE
    )
    account_id: int
    app: fields.ForeignKeyRelation[MessagingApp] = fields.ForeignKeyField(
        "models.MessagingApp", related_name="conversations", on_delete=fields.CASCADE
    )
    app_id: int
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="conversations", on_delete=fields.CASCADE
    )
    contact_id: int
    status = fields.CharEnumField(ConversationStatus, max_length=10, default=ConversationStatus.OPEN)
    assignee: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="assigned_conversations", null=True, on_delete=fields.SET_NULL
    )
    assignee_id: int | None
    version = fields.IntField(default=0)
    last_message_id = fields.IntField(null=True)
    last_message_at = fields.DatetimeField(null=True)
    last_message_text = nullable_text()
    last_message_direction = nullable_char_enum(Direction, max_length=10)
    last_inbound_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "conversation"
        unique_together = (("app", "contact"),)


class Message(Model):
    """A message. `conversation` is null once its conversation was deleted: the row stays as a
    content-free tombstone so a late provider retry of the same id is still recognised (R-IDEMPOTENT).
    """

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="messages", on_delete=fields.CASCADE
    )
    account_id: int
    app: fields.ForeignKeyRelation[MessagingApp] = fields.ForeignKeyField(
        "models.MessagingApp", related_name="messages", on_delete=fields.CASCADE
    )
    app_id: int
    conversation: fields.ForeignKeyNullableRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="messages", null=True, on_delete=fields.CASCADE
    )
    conversation_id: int | None
    direction = fields.CharEnumField(Direction, max_length=10)
    text = nullable_text()
    attachments: fields.JSONField[list[Attachment]] = fields.JSONField(default=list)
    sender_name = fields.CharField(max_length=255, null=True)
    sent_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sent_messages", null=True, on_delete=fields.SET_NULL
    )
    sent_by_id: int | None
    status = fields.CharEnumField(DeliveryStatus, max_length=10)
    error_code = fields.CharField(max_length=64, null=True)
    error_message = nullable_text()
    provider_message_id = fields.CharField(max_length=255, null=True)
    "The template it was sent from (R-TEMPLATE), and the values of its placeholders (for the send and its retries)."
    template: fields.ForeignKeyNullableRelation[MessageTemplate] = fields.ForeignKeyField(
        "models.MessageTemplate", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    template_id: int | None
    template_variables: fields.JSONField[dict[str, str] | None] = fields.JSONField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "message"
        unique_together = (("app", "provider_message_id"),)
        indexes = (("conversation_id", "id"),)


class MessageMention(Model):
    """A user mentioned in an INTERNAL comment (R-COMMENT): stored with the comment, in its transaction."""

    id = fields.IntField(primary_key=True)
    message: fields.ForeignKeyRelation[Message] = fields.ForeignKeyField(
        "models.Message", related_name="mentions", on_delete=fields.CASCADE
    )
    message_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="mentioned_in", on_delete=fields.CASCADE
    )
    user_id: int

    class Meta:
        table = "message_mention"
        unique_together = (("message", "user"),)
