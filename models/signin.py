"""Sign-in storage (R-SIGNIN): one-time links, their durable emails, and failure counters."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.notifications import EmailDelivery
from models.typed import nullable_text

if TYPE_CHECKING:
    from models.accounts import User


class CodePurpose(StrEnum):
    INVITE = "INVITE"  # sent by createUser: sets the first password (7 days)
    RESET = "RESET"  # sent by requestPasswordReset (1 hour)


class SignInCode(Model):
    """The code of an emailed link, stored as its SHA-256 digest, used once (`used_at`)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sign_in_codes", on_delete=fields.CASCADE
    )
    user_id: int
    purpose = fields.CharEnumField(CodePurpose, max_length=10)
    digest = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "sign_in_code"


class SignInEmail(EmailDelivery):
    """The email carrying a link: the durable outbox of resolvers/emails.py, for one code.

    The code itself must reach the user, so it waits here encrypted with SECRET_KEY (`sealed`)
    and is erased once the email is sent or given up."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sign_in_emails", on_delete=fields.CASCADE
    )
    user_id: int
    code: fields.ForeignKeyRelation[SignInCode] = fields.ForeignKeyField(
        "models.SignInCode", related_name="emails", on_delete=fields.CASCADE
    )
    code_id: int
    sealed = nullable_text()

    class Meta:
        table = "sign_in_email"
        indexes = (("status", "due_at"),)


class RateCounter(Model):
    """Failures counted under one key until `window_ends`: the rate limit without Redis."""

    key = fields.CharField(max_length=100, primary_key=True)
    count = fields.IntField()
    window_ends = fields.DatetimeField()

    class Meta:
        table = "rate_counter"
