"""WhatsApp message templates as synced from the provider (R-TEMPLATE)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.typed import nullable_char_enum

if TYPE_CHECKING:
    from models.accounts import Account
    from models.apps import MessagingApp


class TemplateStatus(StrEnum):
    APPROVED = "APPROVED"
    PENDING = "PENDING"
    REJECTED = "REJECTED"
    PAUSED = "PAUSED"
    DISABLED = "DISABLED"


class TemplateCategory(StrEnum):
    MARKETING = "MARKETING"
    UTILITY = "UTILITY"
    AUTHENTICATION = "AUTHENTICATION"


class MessageTemplate(Model):
    """One template of one app, by the provider's id (a Twilio Content SID).

    Never deleted while its app lives: a template gone upstream becomes DISABLED, so the messages
    sent from it keep it."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="message_templates", on_delete=fields.CASCADE
    )
    account_id: int
    app: fields.ForeignKeyRelation[MessagingApp] = fields.ForeignKeyField(
        "models.MessagingApp", related_name="templates", on_delete=fields.CASCADE
    )
    app_id: int
    external_id = fields.CharField(max_length=64)
    name = fields.CharField(max_length=512)
    language = fields.CharField(max_length=32)
    category = nullable_char_enum(TemplateCategory, max_length=20)
    status = fields.CharEnumField(TemplateStatus, max_length=10)
    body = fields.TextField()
    variables: fields.JSONField[list[str]] = fields.JSONField(default=list)
    synced_at = fields.DatetimeField()

    class Meta:
        table = "message_template"
        unique_together = (("app", "external_id"),)
