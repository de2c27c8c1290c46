"""Signing in and out, passwords, emailed links and the viewer's tokens (R-SIGNIN).

A token authenticates while its row exists and, for a session, until it expires: revoking deletes
the row, and every open WebSocket that used it is closed with 4403 (resolvers.viewer.rights_changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from models import ApiToken, CodePurpose, SignInCode, TokenKind, User, UserStatus
from resolvers import clock, passwords, ratelimit
from resolvers.errors import Forbidden, NotFound, RateLimited, Unauthenticated, ValidationFailed
from resolvers.events import change
from resolvers.ids import pk_of
from resolvers.signin_emails import CODE_PREFIX, queue_link
from resolvers.text import email_address
from resolvers.viewer import Viewer, digest, issue_token, rights_changed, unexpired
from settings import get_settings

WRONG_PAIR = "Wrong email or password."
BAD_LINK = "This link has expired or was already used: ask for a new one."


@dataclass(frozen=True)
class SignedIn:
    token: str
    user: User
    expires_at: datetime | None


@dataclass(frozen=True)
class CreatedToken:
    row: ApiToken
    token: str


def _normalised(email: str) -> str | None:
    try:
        return email_address(email).lower()
    except ValidationFailed:
        return None


def _session_name(user_agent: str | None) -> str:
    return (user_agent or "Signed in").strip()[:200] or "Signed in"


async def _start_session(user: User, user_agent: str | None) -> SignedIn:
    expires_at = clock.now() + timedelta(days=get_settings().session_days)
    _, token = await issue_token(user, kind=TokenKind.SESSION, name=_session_name(user_agent), expires_at=expires_at)
    return SignedIn(token, user, expires_at)


async def _refuse_if_limited(*names: tuple[str, int]) -> None:
    waits = [wait for name, limit in names if (wait := await ratelimit.retry_after(name, limit)) is not None]
    if waits:
        wait = max(waits)
        raise RateLimited(f"Too many failed attempts: try again in {wait} seconds.", retryAfter=wait)


async def sign_in(email: str, password: str, *, address: str, user_agent: str | None = None) -> SignedIn:
    """A session for the ACTIVE user of this pair. A wrong password, an unknown email and a
    deactivated user get the same answer after the same work (one Argon2 verification). After
    SIGN_IN_FAILURES_PER_EMAIL failures for one email, or SIGN_IN_FAILURES_PER_ADDRESS from one
    client address, in a window: RATE_LIMITED, with retryAfter, before any hashing."""
    settings = get_settings()
    if passwords.too_long(password):  # refused before hashing: a megabyte would cost what an attacker wants
        raise ValidationFailed(f"The password may have at most {passwords.MAX_BYTES} bytes.", field="password")
    normalised = _normalised(email)
    email_key = ratelimit.key("email", normalised or email.strip().lower())
    address_key = ratelimit.key("address", address)
    await _refuse_if_limited(
        (email_key, settings.sign_in_failures_per_email), (address_key, settings.sign_in_failures_per_address)
    )
    # The same email may belong to users of several accounts: the password says which.
    candidates = (
        await User.filter(email=normalised, status=UserStatus.ACTIVE, password_hash__isnull=False).order_by("id")
        if normalised
        else []
    )
    hasher = passwords.hasher()
    tried: list[User | None] = [*candidates] or [None]
    for user in tried:
        verdict = await hasher.verify(user.password_hash if user else None, password)
        if verdict.matches and user is not None:
            if verdict.rehashed:  # conditional: a password changed meanwhile is not overwritten
                await User.filter(id=user.id, password_hash=user.password_hash).update(password_hash=verdict.rehashed)
            await ratelimit.clear(email_key)
            return await _start_session(user, user_agent)
    await ratelimit.count_failure(email_key)
    await ratelimit.count_failure(address_key)
    raise Unauthenticated(WRONG_PAIR)


async def sign_out(viewer: Viewer) -> bool:
    """Revokes the token this request carries (a session or an API token)."""
    if viewer.digest is not None:
        await ApiToken.filter(digest=viewer.digest).delete()
        await rights_changed([viewer.id])
    return True


async def change_password(viewer: Viewer, current: str, new: str, *, address: str) -> bool:
    """The viewer's own password; their other sessions end. A wrong current password counts as a
    failed sign-in of their email (a stolen session cannot try passwords faster than signIn)."""
    passwords.check_new_password(new)
    if passwords.too_long(current):
        raise ValidationFailed("Wrong current password.", field="currentPassword")
    settings = get_settings()
    email_key = ratelimit.key("email", viewer.user.email)
    address_key = ratelimit.key("address", address)
    await _refuse_if_limited(
        (email_key, settings.sign_in_failures_per_email), (address_key, settings.sign_in_failures_per_address)
    )
    user = await User.get(id=viewer.id)
    verdict = await passwords.hasher().verify(user.password_hash, current)
    if not verdict.matches:
        await ratelimit.count_failure(email_key)
        await ratelimit.count_failure(address_key)
        raise ValidationFailed("Wrong current password.", field="currentPassword")
    hashed = await passwords.hasher().hash(new)
    async with in_transaction():
        await User.filter(id=user.id).update(password_hash=hashed)
        await _end_sessions(user.id, keep=viewer.digest)
    await rights_changed([user.id])
    return True


async def _end_sessions(user_id: int, *, keep: str | None = None) -> None:
    sessions = ApiToken.filter(user_id=user_id, kind=TokenKind.SESSION)
    if keep is not None:
        sessions = sessions.exclude(digest=keep)
    await sessions.delete()


async def request_password_reset(email: str, *, address: str) -> bool:
    """Always true, whether or not someone has this email: an answer must not tell. Emails each
    ACTIVE user of this address a link valid 1 hour; requests beyond the email's or the client
    address's limit send nothing more (and still answer true)."""
    settings = get_settings()
    normalised = _normalised(email)
    if normalised is None:
        return True
    email_key = ratelimit.key("reset-email", normalised)
    address_key = ratelimit.key("reset-address", address)
    if await ratelimit.retry_after(email_key, settings.sign_in_failures_per_email) or await ratelimit.retry_after(
        address_key, settings.sign_in_failures_per_address
    ):
        return True
    await ratelimit.count_failure(email_key)
    await ratelimit.count_failure(address_key)
    users = await User.filter(email=normalised, status=UserStatus.ACTIVE).select_related("account")
    for user in users:
        async with change() as c:
            await queue_link(c, user, CodePurpose.RESET)
    return True


async def reset_password(
    code: str, new_password: str, *, viewer: Viewer | None, user_agent: str | None = None
) -> SignedIn:
    """Sets the password of the link's user and signs them in. The link works once, until it
    expires, for an ACTIVE user; a reset ends the user's other sessions. A request signed in as
    someone else is refused (FORBIDDEN): sign out first, so nobody acts as two people at once."""
    passwords.check_new_password(new_password)
    if not code.startswith(CODE_PREFIX) or len(code) > 200:
        raise ValidationFailed(BAD_LINK, field="code")
    now = clock.now()
    row = await SignInCode.get_or_none(digest=digest(code)).select_related("user")
    if row is None or row.used_at is not None or row.expires_at <= now or row.user.status != UserStatus.ACTIVE:
        raise ValidationFailed(BAD_LINK, field="code")
    if viewer is not None and viewer.id != row.user_id:
        raise Forbidden("This link is for another user: sign out first.")
    hashed = await passwords.hasher().hash(new_password)
    async with in_transaction():
        # conditional: of two requests with the same link, one wins
        if not await SignInCode.filter(id=row.id, used_at__isnull=True, expires_at__gt=now).update(used_at=now):
            raise ValidationFailed(BAD_LINK, field="code")
        await SignInCode.filter(user_id=row.user_id, used_at__isnull=True).update(used_at=now)
        await User.filter(id=row.user_id).update(password_hash=hashed)
        if row.purpose == CodePurpose.RESET:
            await _end_sessions(row.user_id)
        signed_in = await _start_session(row.user, user_agent)
    await rights_changed([row.user_id])
    return signed_in


async def set_password(email: str, password: str, *, account_id: int | None = None) -> User:
    """For operators (`switchboard set-password`): no current password, no link."""
    passwords.check_new_password(password, field="password")
    normalised = email_address(email).lower()
    users = User.filter(email=normalised)
    if account_id is not None:
        users = users.filter(account_id=account_id)
    found = await users
    if not found:
        raise NotFound(f"No user has the email {normalised}.")
    if len(found) > 1:
        raise ValidationFailed(
            f"Users of several accounts have the email {normalised}: name the account.", field="account"
        )
    hashed = await passwords.hasher().hash(password)
    await User.filter(id=found[0].id).update(password_hash=hashed)
    return found[0]


# ---- the viewer's tokens


def _token_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ValidationFailed("name must have 1 to 200 characters.", field="name")
    return name


async def create_api_token(viewer: Viewer, name: str) -> CreatedToken:
    row, token = await issue_token(viewer.user, kind=TokenKind.API, name=_token_name(name))
    return CreatedToken(row, token)


async def viewer_tokens(viewer: Viewer) -> list[ApiToken]:
    """The viewer's tokens that still authenticate, newest first. Expired sessions are deleted here."""
    await ApiToken.filter(user_id=viewer.id, expires_at__lte=clock.now()).delete()
    return await ApiToken.filter(unexpired(), user_id=viewer.id).order_by("-id")


async def revoke_token(viewer: Viewer, api_id: str) -> str:
    """Own tokens; an ADMIN any token of the account. NOT_FOUND for anything else, as for a missing one."""
    query = ApiToken.filter(id=pk_of("ApiToken", api_id))
    query = query.filter(user__account_id=viewer.account_id) if viewer.is_admin else query.filter(user_id=viewer.id)
    row = await query.first()
    if row is None:
        raise NotFound("No such token.")
    await ApiToken.filter(id=row.id).delete()
    await rights_changed([row.user_id])
    return api_id
