from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    ADMIN = "ADMIN"
    MEMBER = "MEMBER"


class UserStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DEACTIVATED = "DEACTIVATED"  # their tokens authenticate nothing (R-ADMIN)


class TokenKind(StrEnum):
    SESSION = "SESSION"  # from signIn or a link: expires after SESSION_DAYS (R-SIGNIN)
    API = "API"  # for an integration: valid until revoked


class Account(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    created_at = fields.DatetimeField()

    class Meta:
        table = "account"


class User(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="users", on_delete=fields.CASCADE
    )
    account_id: int
    name = fields.CharField(max_length=200)
    email = fields.CharField(max_length=320)
    role = fields.CharEnumField(Role, max_length=10, default=Role.MEMBER)
    available = fields.BooleanField(default=True)
    # db_default: the rows that exist when the column is added are ACTIVE
    status = fields.CharEnumField(
        UserStatus, max_length=12, default=UserStatus.ACTIVE, db_default=UserStatus.ACTIVE.value
    )
    # Argon2id (R-SIGNIN); null until the user sets one through an invitation or reset link
    password_hash = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "user"
        unique_together = (("account", "email"),)


class ApiToken(Model):
    """A bearer token, stored as its SHA-256 digest: the token itself is shown once.

    A token authenticates while its row exists and, for a session, until `expires_at`: revoking
    one deletes its row (R-SIGNIN, R-ADMIN)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="tokens", on_delete=fields.CASCADE
    )
    user_id: int
    digest = fields.CharField(max_length=64, unique=True)
    # db_default: the tokens that exist when the columns are added are API tokens
    kind = fields.CharEnumField(TokenKind, max_length=10, default=TokenKind.API, db_default=TokenKind.API.value)
    name = fields.CharField(max_length=200, default="", db_default="")
    expires_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)  # written at most once a minute (resolvers/viewer.py)
    created_at = fields.DatetimeField()

    class Meta:
        table = "api_token"
