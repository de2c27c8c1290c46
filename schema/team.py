from __future__ import annotations

import strawberry
from strawberry.types import Info

from models import Account as AccountRow
from resolvers import assignment, users
from schema.context import viewer_of
from schema.types import Account, CreatedUser, Role, User


@strawberry.type
class TeamQuery:
    @strawberry.field
    def viewer(self, info: Info) -> User:
        return User.of(viewer_of(info).user)

    @strawberry.field
    async def account(self, info: Info) -> Account:
        return Account.of(await AccountRow.get(id=viewer_of(info).account_id))

    @strawberry.field
    async def users(self, info: Info, available_only: bool | None = False) -> list[User]:
        return [User.of(row) for row in await users.users(viewer_of(info), available_only=bool(available_only))]


@strawberry.type
class TeamMutation:
    @strawberry.mutation
    async def set_availability(self, info: Info, available: bool) -> User:
        return User.of(await assignment.set_availability(viewer_of(info), available))

    @strawberry.mutation
    async def create_user(self, info: Info, name: str, email: str, role: Role | None = Role.MEMBER) -> CreatedUser:
        created = await users.create_user(viewer_of(info), name, email, role or Role.MEMBER)
        return CreatedUser(user=User.of(created.user), token=created.token)
