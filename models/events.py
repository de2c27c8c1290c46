from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class InboxEventType(StrEnum):
    CONVERSATION_CREATED = "CONVERSATION_CREATED"
    MESSAGE_RECEIVED = "MESSAGE_RECEIVED"
    MESSAGE_SENT = "MESSAGE_SENT"
    MESSAGE_STATUS_CHANGED = "MESSAGE_STATUS_CHANGED"
    CONVERSATION_ASSIGNED = "CONVERSATION_ASSIGNED"
    CONVERSATION_UNASSIGNED = "CONVERSATION_UNASSIGNED"
    CONVERSATION_CLOSED = "CONVERSATION_CLOSED"
    CONVERSATION_REOPENED = "CONVERSATION_REOPENED"
    CONVERSATION_DELETED = "CONVERSATION_DELETED"
    CONVERSATION_LINKED = "CONVERSATION_LINKED"
    CONVERSATION_UNLINKED = "CONVERSATION_UNLINKED"
    CONVERSATION_LABELED = "CONVERSATION_LABELED"
    COMMENT_ADDED = "COMMENT_ADDED"


class InboxEvent(Model):
    """The outbox of real time: written in the transaction of the change, published after commit.

    Plain integer references, not foreign keys: an event outlives what it speaks of.
    """

    id = fields.BigIntField(primary_key=True)
    account_id = fields.IntField()
    app_id = fields.IntField()
    conversation_id = fields.IntField()
    message_id = fields.IntField(null=True)
    actor_id = fields.IntField(null=True)
    type = fields.CharEnumField(InboxEventType, max_length=40)
    occurred_at = fields.DatetimeField()

    class Meta:
        table = "inbox_event"
        indexes = (("account_id", "id"),)
