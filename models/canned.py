from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.accounts import Account, User


class CannedReply(Model):
    """A saved reply: the owner's own, or shared with the whole team when `owner` is null.

    A shortcut is unique per owner (the unique constraint) and among the shared ones (a partial
    unique index written by hand in migration 0013: NULL owners are never equal to each other)."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="canned_replies", on_delete=fields.CASCADE
    )
    account_id: int
    owner: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="canned_replies", null=True, on_delete=fields.CASCADE
    )
    owner_id: int | None
    shortcut = fields.CharField(max_length=32)
    text = fields.TextField()
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "canned_reply"
        unique_together = (("owner", "shortcut"),)
        indexes = (("account_id", "shortcut"),)
