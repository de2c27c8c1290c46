"""Who is asking: bearer tokens, and the apps a viewer may see (R-TENANT, shared access)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise.expressions import Q

from models import ApiToken, Role, TokenKind, User, UserStatus
from models.sql import APP_IDS_OF_USER, RIGHTS_LOST, Dialect, dialect, fetch, joined, viewer_of_token
from resolvers import clock
from resolvers.errors import Forbidden
from subscriptions import publisher

TOKEN_PREFIX = "sb_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# lastUsedAt is written at most this often per token: not a write on every request (R-SIGNIN).
LAST_USED_PRECISION = timedelta(minutes=1)


async def issue_token(
    user: User, *, kind: TokenKind = TokenKind.API, name: str = "", expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token of `user`: its row, and the token itself (shown once; only its digest is kept)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = await ApiToken.create(
        user=user, digest=digest(token), kind=kind, name=name, expires_at=expires_at, created_at=clock.now()
    )
    return row, token


def unexpired() -> Q:
    """Tokens that still authenticate: API tokens, and sessions before their `expires_at`."""
    return Q(expires_at__isnull=True) | Q(expires_at__gt=clock.now())


@dataclass
class Viewer:
    user: User
    digest: str | None = field(default=None, repr=False)  # of the token they authenticated with
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
                self._app_ids = frozenset(row["app_id"] for row in await fetch(APP_IDS_OF_USER, self.user.id))
            return self._app_ids

    def forget_access(self) -> None:
        self._app_ids = None

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("Only an admin may change messaging settings.")


async def authenticate(token: str | None) -> Viewer | None:
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return await authenticate_digest(digest(token))


async def authenticate_digest(token_digest: str) -> Viewer | None:
    """Who the token of this digest belongs to now, in one statement: nobody once the token is
    deleted (revoked) or expired, or its user DEACTIVATED. Notes `lastUsedAt` at most once a minute.
    Also how an open WebSocket re-reads its viewer per operation."""
    rows = joined(ApiToken, await fetch(viewer_of_token(), token_digest, UserStatus.ACTIVE.value), {"user": User})
    if not rows:
        return None
    row, now = rows[0], clock.now()
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or row.last_used_at <= now - LAST_USED_PRECISION:
        # conditional: of the requests of the same minute, across processes, one writes
        await ApiToken.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_PRECISION), id=row.id
        ).update(last_used_at=now)
    return Viewer(row.user, token_digest)


# Distinct tokens per statement of `current_rights`: well under both databases' limit of bound parameters.
RIGHTS_BATCH = 10_000


async def current_rights(digests: Collection[str]) -> dict[str, tuple[int, Role]]:
    """(user id, role) of each of these tokens that still authenticates (the token exists and has
    not expired, its user is ACTIVE): one statement per RIGHTS_BATCH tokens. Open WebSockets whose token is missing here,
    or whose user or role differs from what they were accepted with, are closed (schema/revocation.py)."""
    ordered = list(digests)
    rights: dict[str, tuple[int, Role]] = {}
    for start in range(0, len(ordered), RIGHTS_BATCH):
        rows = await ApiToken.filter(
            unexpired(), digest__in=ordered[start : start + RIGHTS_BATCH], user__status=UserStatus.ACTIVE
        ).values_list("digest", "user_id", "user__role")
        for token_digest, user_id, role in rows:
            rights[token_digest] = (user_id, Role(role))
    return rights


Grant = tuple[str, int, str]  # (token digest, user id, role) as a socket was accepted with them


async def lost_rights(grants: Collection[Grant]) -> set[Grant]:
    """Those of `grants` the token no longer gives: it is deleted, or its user is not ACTIVE or has
    another role. One statement (PostgreSQL: the grants go as arrays and only the lost come back;
    SQLite: by `current_rights`)."""
    if not grants:
        return set()
    if dialect() != Dialect.POSTGRES:
        rights = await current_rights({grant[0] for grant in grants})
        return {grant for grant in grants if rights.get(grant[0]) != (grant[1], grant[2])}
    digests, user_ids, roles = (list(column) for column in zip(*grants, strict=True))
    rows = await fetch(RIGHTS_LOST, digests, user_ids, roles, UserStatus.ACTIVE.value, clock.now())
    return {(row["digest"], row["user_id"], row["role"]) for row in rows}


async def rights_changed(user_ids: Iterable[int]) -> None:
    """Call after commit whenever a token of these users was deleted, or their role or status
    changed: every process re-checks their open WebSockets at once and closes, with 4403, those
    whose token no longer grants what it did. Never raises (each process also re-checks every second)."""
    await publisher.publish_rights_changed(user_ids)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
