"""Sign-in results and the viewer's tokens (R-SIGNIN). A token is never readable back: only its row."""

from __future__ import annotations

from datetime import datetime

import strawberry

import models
from resolvers.ids import to_api_id
from schema.types.common import Node, describe_enum
from schema.types.team import User

TokenKind = models.TokenKind
describe_enum(
    TokenKind,
    "TokenKind",
    "How a token came to be, and how long it lasts (R-SIGNIN).",
    {
        "SESSION": "From signIn or an emailed link; expires after SESSION_DAYS, or when revoked or signed out.",
        "API": "For an integration (createApiToken, createUser, create-account); valid until revoked.",
    },
)


@strawberry.type(description="A new session: send `token` as `Authorization: Bearer <token>`.")
class SignInResult:
    token: str = strawberry.field(description="Shown once; store it.")
    user: User = strawberry.field(description="Who signed in.")
    expires_at: datetime | None = strawberry.field(description="When the session ends by itself.")


@strawberry.type(description="One of the viewer's tokens: a session or an API token. Never the token itself.")
class ApiToken(Node):
    row: strawberry.Private[models.ApiToken]
    kind: TokenKind = strawberry.field(description="SESSION or API.")
    name: str = strawberry.field(description="The API token's name; for a session, the browser that signed in.")
    created_at: datetime = strawberry.field(description="When it was issued.")
    last_used_at: datetime | None = strawberry.field(
        description="When it last authenticated a request, to the minute; null if never."
    )
    expires_at: datetime | None = strawberry.field(description="A session's end; null for an API token.")
    current: bool = strawberry.field(description="True for the token this request carries.")

    @classmethod
    def of(cls, row: models.ApiToken, current_digest: str | None) -> ApiToken:
        return cls(
            id=strawberry.ID(to_api_id("ApiToken", row.id)),
            row=row,
            kind=row.kind,
            name=row.name,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            current=row.digest == current_digest,
        )


@strawberry.type(description="A new API token.")
class CreatedToken:
    api_token: ApiToken = strawberry.field(description="Its row, as viewerTokens lists it.")
    token: str = strawberry.field(description="Shown once.")
