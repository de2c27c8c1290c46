"""The team: users, their roles and status, the account."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

import models
from resolvers.ids import to_api_id
from schema.context import loaders_of
from schema.types.common import Node, describe_enum, wrap

Role = models.Role
describe_enum(
    Role,
    "Role",
    "What a user may do in the account (R-SETTINGS).",
    {
        "ADMIN": "Account settings access: installs, shares and uninstalls messaging apps and creates users (R-SETTINGS).",
        "MEMBER": "Works the inbox of the apps shared with them; changes no messaging settings.",
    },
)
UserStatus = models.UserStatus
describe_enum(
    UserStatus,
    "UserStatus",
    "Whether a user can sign in and work the inbox (R-ADMIN).",
    {
        "ACTIVE": "Signs in, is assignable and is told of new messages as their settings say.",
        "DEACTIVATED": "Cannot sign in: every token authenticates nothing and open WebSockets are closed (4403); not "
        "assignable, told nothing (R-ADMIN).",
    },
)


@strawberry.type(
    description="A member of the team. They see only their account (R-TENANT) and the conversations of the apps "
    "shared with them."
)
class User(Node):
    row: strawberry.Private[models.User]
    name: str = strawberry.field(description="Display name; their replies carry it as `senderName`.")
    email: str = strawberry.field(description="Where their notification emails go; unique in the account.")
    role: Role = strawberry.field(description="ADMIN may change messaging settings, MEMBER may not (R-SETTINGS).")
    available: bool = strawberry.field(
        description="Green dot: anyone may assign new conversations to this user (R-AVAIL). New and reactivated "
        "users are available, deactivated ones never (R-ADMIN)."
    )
    status: UserStatus = strawberry.field(
        description="A DEACTIVATED user's tokens authenticate nothing, and their open WebSockets are closed (R-ADMIN)."
    )

    @classmethod
    def of(cls, row: models.User) -> User:
        return wrap(cls, "User", row, ("name", "email", "role", "available", "status"))


@strawberry.type(
    description="The company using Switchboard. Every row belongs to one account; nothing crosses accounts (R-TENANT)."
)
class Account(Node):
    name: str = strawberry.field(description="The account's name.")

    @classmethod
    def of(cls, row: models.Account) -> Account:
        return cls(id=strawberry.ID(to_api_id("Account", row.id)), name=row.name)


@strawberry.type(description="A new user and their first API token.")
class CreatedUser:
    user: User = strawberry.field(description="The new user, available, with the role asked for.")
    token: str = strawberry.field(description="Shown once; store it. Sent as `Authorization: Bearer <token>`.")


@strawberry.type(description="A saved reply the viewer fills in from a conversation and sends with sendMessage.")
class CannedReply(Node):
    row: strawberry.Private[models.CannedReply]
    shortcut: str = strawberry.field(
        description="What the user types after `/` to find it: lower case letters, digits, '-' and '_'."
    )
    text: str = strawberry.field(
        description="The text, with placeholders {{contact.name}}, {{user.name}}, {{person.name}}, {{deal.title}}."
    )

    @classmethod
    def of(cls, row: models.CannedReply) -> CannedReply:
        return wrap(cls, "CannedReply", row, ("shortcut", "text"))

    @strawberry.field(description="Null when shared with the team.")
    async def owner(self, info: Info) -> User | None:
        if self.row.owner_id is None:
            return None
        return User.of(await loaders_of(info).user.load(self.row.owner_id))
