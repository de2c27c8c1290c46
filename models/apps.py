from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.accounts import Account, User


class Provider(StrEnum):
    TWILIO_WHATSAPP = "TWILIO_WHATSAPP"
    MESSENGER = "MESSENGER"
    API = "API"


class AssignmentMode(StrEnum):
    """How new and reopened unassigned conversations are assigned (R-ROUTE)."""

    MANUAL = "MANUAL"
    ROUND_ROBIN = "ROUND_ROBIN"
    BALANCED = "BALANCED"


class MessagingApp(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="apps", on_delete=fields.CASCADE
    )
    account_id: int
    provider = fields.CharEnumField(Provider, max_length=20)
    name = fields.CharField(max_length=200)
    installed_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="installed_apps", on_delete=fields.RESTRICT
    )
    installed_by_id: int
    "Provider credentials as Fernet ciphertext (SECRET_KEY); never returned by the API."
    credentials_encrypted = fields.TextField()
    created_at = fields.DatetimeField()
    "When its templates were last synced from the provider (R-TEMPLATE); null: never."
    templates_synced_at = fields.DatetimeField(null=True)
    "A process syncing its templates holds them until then: the lease no other process syncs under."
    templates_sync_lease = fields.DatetimeField(null=True)
    "R-ROUTE: the policy (db_default: the apps that exist when the column is added stay MANUAL)."
    assignment_mode = fields.CharEnumField(
        AssignmentMode, max_length=12, default=AssignmentMode.MANUAL, db_default=AssignmentMode.MANUAL.value
    )
    "At most this many open conversations per user from automatic assignment; null: no cap."
    max_open_per_user = fields.IntField(null=True)
    "ROUND_ROBIN's turn: the user automatic assignment gave a conversation last (the next in id order follows)."
    assignment_last_user_id = fields.IntField(null=True)

    class Meta:
        table = "messaging_app"


class AppAccess(Model):
    """Shared access: the users who see an app's conversations (the installer always has a row)."""

    id = fields.IntField(primary_key=True)
    app: fields.ForeignKeyRelation[MessagingApp] = fields.ForeignKeyField(
        "models.MessagingApp", related_name="access", on_delete=fields.CASCADE
    )
    app_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="app_access", on_delete=fields.CASCADE
    )
    user_id: int

    class Meta:
        table = "app_access"
        unique_together = (("app", "user"),)
