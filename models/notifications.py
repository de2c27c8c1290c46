from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.typed import nullable_text

if TYPE_CHECKING:
    from models.accounts import Account, User
    from models.inbox import Conversation, Message


class NotificationKind(StrEnum):
    NEW_MESSAGE_ASSIGNED_TO_ME = "NEW_MESSAGE_ASSIGNED_TO_ME"
    NEW_MESSAGE_ASSIGNED_TO_OTHERS = "NEW_MESSAGE_ASSIGNED_TO_OTHERS"
    NEW_MESSAGE_UNASSIGNED = "NEW_MESSAGE_UNASSIGNED"
    CONVERSATION_ASSIGNED_TO_ME = "CONVERSATION_ASSIGNED_TO_ME"
    MENTIONED = "MENTIONED"


class EmailStatus(StrEnum):
    PENDING = "PENDING"
    SENDING = "SENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class NotificationSetting(Model):
    """A user's choice for one kind. No row: the R-NOTIFY default."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="notification_settings", on_delete=fields.CASCADE
    )
    user_id: int
    kind = fields.CharEnumField(NotificationKind, max_length=40)
    desktop = fields.BooleanField()
    email = fields.BooleanField()

    class Meta:
        table = "notification_setting"
        unique_together = (("user", "kind"),)


class Notification(Model):
    """A desktop notification: written in the transaction of the change that causes it."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="notifications", on_delete=fields.CASCADE
    )
    account_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="notifications", on_delete=fields.CASCADE
    )
    user_id: int
    app_id = fields.IntField()
    kind = fields.CharEnumField(NotificationKind, max_length=40)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="notifications", on_delete=fields.CASCADE
    )
    conversation_id: int
    message: fields.ForeignKeyNullableRelation[Message] = fields.ForeignKeyField(
        "models.Message", related_name="notifications", null=True, on_delete=fields.SET_NULL
    )
    message_id: int | None
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="caused_notifications", null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None
    read_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "notification"
        indexes = (("user_id", "id"), ("user_id", "read_at"))


class EmailDelivery(Model):
    """The delivery columns of a durable email outbox (OutboxEmail, and SignInEmail of models/signin.py).

    A worker claims a row with a conditional UPDATE (status and claim token), so however many processes
    run, one of them sends it; a claim whose worker died is taken over once `claimed_until` has passed.
    """

    status = fields.CharEnumField(EmailStatus, max_length=10, default=EmailStatus.PENDING)
    due_at = fields.DatetimeField()
    attempts = fields.IntField(default=0)
    attempted_at = fields.DatetimeField(null=True)
    claim_token = fields.CharField(max_length=32, null=True)
    claimed_until = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)
    last_error = nullable_text()
    created_at = fields.DatetimeField()

    class Meta:
        abstract = True


class OutboxEmail(EmailDelivery):
    """One email to one user about one conversation: the durable outbox.

    Items (EmailItem) are added while it is PENDING; a worker claims it as EmailDelivery says.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="outbox_emails", on_delete=fields.CASCADE
    )
    account_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="outbox_emails", on_delete=fields.CASCADE
    )
    user_id: int
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="outbox_emails", on_delete=fields.CASCADE
    )
    conversation_id: int

    class Meta:
        table = "outbox_email"
        indexes = (("status", "due_at"), ("user_id", "conversation_id", "id"))


class EmailItem(Model):
    """One thing an email tells: a message that arrived, or an assignment."""

    id = fields.BigIntField(primary_key=True)
    email: fields.ForeignKeyRelation[OutboxEmail] = fields.ForeignKeyField(
        "models.OutboxEmail", related_name="items", on_delete=fields.CASCADE
    )
    email_id: int
    kind = fields.CharEnumField(NotificationKind, max_length=40)
    message: fields.ForeignKeyNullableRelation[Message] = fields.ForeignKeyField(
        "models.Message", related_name="email_items", null=True, on_delete=fields.SET_NULL
    )
    message_id: int | None
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="email_items", null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None
    created_at = fields.DatetimeField()

    class Meta:
        table = "email_item"
