"""Accounts and users: creating them (R-SETTINGS), listing a team."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import Account, CodePurpose, Role, User, UserStatus
from resolvers import clock, passwords
from resolvers.errors import ValidationFailed
from resolvers.events import change
from resolvers.signin_emails import queue_link
from resolvers.text import email_address
from resolvers.viewer import Viewer, issue_token


@dataclass(frozen=True)
class CreatedUser:
    user: User
    token: str


def user_name(name: str) -> str:
    """A display name as stored (GraphQL input arrives cleaned: schema/inputs.py): trimmed, 1 to 200
    characters. Markup or SQL in it is kept as plain text (every statement binds it, every page escapes it)."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ValidationFailed("name must have 1 to 200 characters.", field="name")
    return name


def user_email(email: str) -> str:
    return email_address(email).lower()  # lowercased whole: one user per address, however typed


def _check(name: str, email: str) -> tuple[str, str]:
    return user_name(name), user_email(email)


async def users(viewer: Viewer, *, available_only: bool = False) -> list[User]:
    query = User.filter(account_id=viewer.account_id)
    if available_only:  # a deactivated user is never available (R-ADMIN): not listed, not counted
        query = query.filter(available=True, status=UserStatus.ACTIVE)
    return await query.order_by("id")


async def create_user(viewer: Viewer, name: str, email: str, role: Role = Role.MEMBER) -> CreatedUser:
    """The user, an API token for them, and an invitation emailed in the same transaction: its link
    sets their password (R-SIGNIN)."""
    viewer.require_admin()
    name, email = _check(name, email)
    try:
        async with change() as c:
            user = await User.create(
                account_id=viewer.account_id, name=name, email=email, role=role, created_at=clock.now()
            )
            _, token = await issue_token(user, name=f"Created by {viewer.user.name}")
            await queue_link(c, user, CodePurpose.INVITE)
    except IntegrityError:
        raise ValidationFailed(f"A user with the email {email} already exists.", field="email") from None
    return CreatedUser(user, token)


async def create_account(
    name: str, admin_name: str, admin_email: str, admin_password: str | None = None
) -> tuple[Account, CreatedUser]:
    """A new account with its first ADMIN (the command line's `create-account`), who signs in with
    `admin_password` when one is given (R-SIGNIN)."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ValidationFailed("The account name must have 1 to 200 characters.", field="name")
    admin_name, admin_email = _check(admin_name, admin_email)
    hashed = None
    if admin_password is not None:
        hashed = await passwords.hasher().hash(passwords.check_new_password(admin_password, field="adminPassword"))
    async with in_transaction():
        account = await Account.create(name=name, created_at=clock.now())
        admin = await User.create(
            account_id=account.id,
            name=admin_name,
            email=admin_email,
            role=Role.ADMIN,
            password_hash=hashed,
            created_at=clock.now(),
        )
        _, token = await issue_token(admin, name="create-account")
    return account, CreatedUser(admin, token)
