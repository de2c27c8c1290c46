"""Who is asking: bearer tokens, and the apps a viewer may see (R-TENANT, shared access)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass, field

from models import ApiToken, AppAccess, Role, User
from resolvers import clock
from resolvers.errors import Forbidden

TOKEN_PREFIX = "sb_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(user: User) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await ApiToken.create(user=user, digest=digest(token), created_at=clock.now())
    return token


@dataclass
class Viewer:
    user: User
    _app_ids: frozenset[int] | None = field(default=None, repr=False)
    _app_ids_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def account_id(self) -> int:
        return self.user.account_id

    def is_me(self, user_id: int | None) -> bool:
        """Whether `user_id` is the viewer. Prefer it to `viewer.id ==`: real time shares one
        rendering of an event among every subscriber for whom this answer is the same."""
        return user_id == self.user.id

    @property
    def is_admin(self) -> bool:
        return self.user.role == Role.ADMIN

    async def app_ids(self) -> frozenset[int]:
        """Apps shared with the viewer: the only ones whose conversations they see, admins included.
        Read once per request, even when the fields of a page ask for it at the same moment."""
        async with self._app_ids_lock:
            if self._app_ids is None:
                ids = await AppAccess.filter(user_id=self.user.id).values_list("app_id", flat=True)
                self._app_ids = frozenset(ids)
            return self._app_ids

    def forget_access(self) -> None:
        self._app_ids = None

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("Only an admin may change messaging settings.")


async def authenticate(token: str | None) -> Viewer | None:
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = await ApiToken.filter(digest=digest(token)).select_related("user").first()
    return Viewer(row.user) if row else None


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
