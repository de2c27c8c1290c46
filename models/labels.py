from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.accounts import Account
    from models.inbox import Conversation


class Label(Model):
    """An account's label (R-LABEL): admins make and remove them, anyone with access sets them."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="labels", on_delete=fields.CASCADE
    )
    account_id: int
    name = fields.CharField(max_length=50)
    color = fields.CharField(max_length=7)
    created_at = fields.DatetimeField()

    class Meta:
        table = "label"
        unique_together = (("account", "name"),)


class ConversationLabel(Model):
    """A label set on a conversation (R-LABEL).

    The unique (label, conversation) index serves the `conversations(labelId:)` filter (the label's
    conversations, probed while the section's own index is read in order); the (conversation,
    label) index serves a page's labels and the clean-up when a conversation is deleted."""

    id = fields.IntField(primary_key=True)
    label: fields.ForeignKeyRelation[Label] = fields.ForeignKeyField(
        "models.Label", related_name="conversations", on_delete=fields.CASCADE
    )
    label_id: int
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="labels", on_delete=fields.CASCADE
    )
    conversation_id: int

    class Meta:
        table = "conversation_label"
        unique_together = (("label", "conversation"),)
        indexes = (("conversation_id", "label_id"),)
