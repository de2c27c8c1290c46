"""Signing in and out, passwords, emailed links and the viewer's tokens (R-SIGNIN)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers import signin
from schema.context import Context, viewer_of
from schema.types import ApiToken, CreatedToken, SignInResult, User


def _address(info: Info[Context, Any]) -> str:
    """The client's address as the server saw it (behind a proxy: uvicorn's --forwarded-allow-ips)."""
    client = getattr(info.context.request, "client", None)
    return client.host if client is not None else "unknown"


def _user_agent(info: Info[Context, Any]) -> str | None:
    headers = getattr(info.context.request, "headers", None)
    return headers.get("user-agent") if headers is not None else None


def _result(signed_in: signin.SignedIn) -> SignInResult:
    return SignInResult(token=signed_in.token, user=User.of(signed_in.user), expires_at=signed_in.expires_at)


Password = Annotated[str, strawberry.argument(description="At least 10 characters, at most 1,024 bytes.")]


@strawberry.type
class SignInQuery:
    @strawberry.field(description="The viewer's sign-in sessions and API tokens (never the token itself).")
    async def viewer_tokens(self, info: Info) -> list[ApiToken]:
        viewer = viewer_of(info)
        return [ApiToken.of(row, viewer.digest) for row in await signin.viewer_tokens(viewer)]


@strawberry.type
class SignInMutation:
    @strawberry.mutation(
        description="No token needed. UNAUTHENTICATED for a wrong pair, the same for an unknown email; RATE_LIMITED "
        "after repeated failures."
    )
    async def sign_in(
        self,
        info: Info,
        email: Annotated[str, strawberry.argument(description="The user's email address.")],
        password: Annotated[str, strawberry.argument(description="Their password.")],
    ) -> SignInResult:
        return _result(await signin.sign_in(email, password, address=_address(info), user_agent=_user_agent(info)))

    @strawberry.mutation(description="Revokes the token this request carries.")
    async def sign_out(self, info: Info) -> bool:
        return await signin.sign_out(viewer_of(info))

    @strawberry.mutation(
        description="No token needed; always true. Emails a one-time link (valid 1 hour) to set a new password."
    )
    async def request_password_reset(
        self, info: Info, email: Annotated[str, strawberry.argument(description="The user's email address.")]
    ) -> bool:
        return await signin.request_password_reset(email, address=_address(info))

    @strawberry.mutation(
        description="No token needed. The code from the emailed link (also sent on createUser as an invitation)."
    )
    async def reset_password(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description="The code after `#invite=` or `#reset=` in the link.")],
        new_password: Password,
    ) -> SignInResult:
        viewer = info.context.viewer
        return _result(await signin.reset_password(code, new_password, viewer=viewer, user_agent=_user_agent(info)))

    @strawberry.mutation(description="The viewer's own password; their other sessions end.")
    async def change_password(
        self,
        info: Info,
        current_password: Annotated[str, strawberry.argument(description="The password they have now.")],
        new_password: Password,
    ) -> bool:
        return await signin.change_password(viewer_of(info), current_password, new_password, address=_address(info))

    @strawberry.mutation(description="A long-lived token for an integration; shown once.")
    async def create_api_token(
        self, info: Info, name: Annotated[str, strawberry.argument(description="What it is for, 1 to 200 characters.")]
    ) -> CreatedToken:
        viewer = viewer_of(info)
        created = await signin.create_api_token(viewer, name)
        return CreatedToken(api_token=ApiToken.of(created.row, viewer.digest), token=created.token)

    @strawberry.mutation(
        description="Own tokens; ADMIN: any token of the account. Open WebSockets using it are closed (4403)."
    )
    async def revoke_token(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The ApiToken's id.")]
    ) -> strawberry.ID:
        return strawberry.ID(await signin.revoke_token(viewer_of(info), id))
