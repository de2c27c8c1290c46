from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from models import Account as AccountRow
from resolvers import admin, assignment, users
from schema.context import viewer_of
from schema.types import Account, CreatedUser, Role, User


@strawberry.type
class TeamQuery:
    @strawberry.field(description="The signed-in user: whose token this request carries.")
    def viewer(self, info: Info) -> User:
        return User.of(viewer_of(info).user)

    @strawberry.field(description="The viewer's account.")
    async def account(self, info: Info) -> Account:
        return Account.of(await AccountRow.get(id=viewer_of(info).account_id))

    @strawberry.field(description="The account's users, oldest first.")
    async def users(
        self,
        info: Info,
        available_only: Annotated[
            bool | None,
            strawberry.argument(description="Only available users: those who may be given a conversation (R-AVAIL)."),
        ] = False,
    ) -> list[User]:
        return [User.of(row) for row in await users.users(viewer_of(info), available_only=bool(available_only))]


@strawberry.type
class TeamMutation:
    @strawberry.mutation(
        description="R-AVAIL: the viewer's own green dot. Going unavailable keeps the conversations they already have."
    )
    async def set_availability(
        self,
        info: Info,
        available: Annotated[bool, strawberry.argument(description="Whether they may be given new conversations.")],
    ) -> User:
        return User.of(await assignment.set_availability(viewer_of(info), available))

    @strawberry.mutation(
        description="ADMIN (R-SETTINGS): adds a user to the account and returns their API token, shown once. FORBIDDEN "
        "for members; VALIDATION_FAILED (extensions.field) for a bad name or email, or an email already in use."
    )
    async def create_user(
        self,
        info: Info,
        name: Annotated[str, strawberry.argument(description="Display name, 1 to 200 characters.")],
        email: Annotated[str, strawberry.argument(description="Their email address; unique in the account.")],
        role: Annotated[Role | None, strawberry.argument(description="MEMBER unless given.")] = Role.MEMBER,
    ) -> CreatedUser:
        created = await users.create_user(viewer_of(info), name, email, role or Role.MEMBER)
        return CreatedUser(user=User.of(created.user), token=created.token)

    @strawberry.mutation(
        description="ADMIN (R-ADMIN): changes what is given and keeps the rest. VALIDATION_FAILED (extensions.field) "
        "for a bad name or email, or an email already in use; FORBIDDEN with reason LAST_ADMIN for the account's "
        "last ACTIVE admin losing the ADMIN role. A changed role closes the user's open WebSockets (4403)."
    )
    async def update_user(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The user.")],
        name: Annotated[str | None, strawberry.argument(description="Display name, 1 to 200 characters.")] = None,
        email: Annotated[str | None, strawberry.argument(description="Unique in the account.")] = None,
        role: Annotated[Role | None, strawberry.argument(description="The new role.")] = None,
    ) -> User:
        return User.of(await admin.update_user(viewer_of(info), id, name=name, email=email, role=role))

    @strawberry.mutation(
        description="ADMIN (R-ADMIN): the user can no longer sign in. Deletes their tokens, closes their WebSockets on "
        "every server (4403), unassigns their open conversations (one CONVERSATION_UNASSIGNED event each); keeps "
        "their history, shares and notes. FORBIDDEN with reason LAST_ADMIN for the last ACTIVE admin."
    )
    async def deactivate_user(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The user.")]
    ) -> User:
        return User.of(await admin.deactivate_user(viewer_of(info), id))

    @strawberry.mutation(
        description="ADMIN (R-ADMIN): ACTIVE and available again, with no token: they sign in again (or are given a "
        "new token)."
    )
    async def reactivate_user(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The user.")]
    ) -> User:
        return User.of(await admin.reactivate_user(viewer_of(info), id))
