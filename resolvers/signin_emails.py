"""Invitation and password-reset emails (R-SIGNIN), through a durable outbox like R-NOTIFY's.

Queued in the transaction that creates the code; sent by the email worker of any process, claimed
with a conditional UPDATE so that exactly one sends it, retried like notification emails (see
resolvers/emails.py). The code travels sealed with SECRET_KEY and is erased once the email is
sent or given up; an email whose code was used, replaced or expired meanwhile is not sent.
"""

from __future__ import annotations

import html
import logging
import secrets
from datetime import datetime, timedelta

from models import CodePurpose, EmailStatus, SignInCode, SignInEmail, User, UserStatus
from resolvers import clock
from resolvers.credentials import decrypt_credentials, encrypt_credentials
from resolvers.emails import (
    BATCH,
    FIRST_RETRY,
    LAST_RETRY,
    MAX_ATTEMPTS,
    EmailNotSent,
    EmailSender,
    OutgoingEmail,
    deliver_due,
    wake_worker,
)
from resolvers.events import Change
from resolvers.links import sign_in_link_url
from resolvers.viewer import digest

CODE_PREFIX = "sbl_"
LIFETIME = {CodePurpose.INVITE: timedelta(days=7), CodePurpose.RESET: timedelta(hours=1)}

log = logging.getLogger(__name__)


async def queue_link(c: Change, user: User, purpose: CodePurpose) -> SignInCode:
    """A new one-time code for `user` and the email carrying it; earlier unused codes of the same
    purpose stop working (only the newest link does)."""
    now = clock.now()
    await SignInCode.filter(user_id=user.id, purpose=purpose, used_at__isnull=True).update(used_at=now)
    code = CODE_PREFIX + secrets.token_urlsafe(32)
    row = await SignInCode.create(
        user_id=user.id, purpose=purpose, digest=digest(code), expires_at=now + LIFETIME[purpose], created_at=now
    )
    await SignInEmail.create(
        user_id=user.id, code_id=row.id, sealed=encrypt_credentials({"code": code}), due_at=now, created_at=now
    )
    if wake_worker not in c.after_commit:
        c.after_commit.append(wake_worker)
    return row


async def deliver_due_sign_in_emails(sender: EmailSender, now: datetime | None = None, *, limit: int = BATCH) -> int:
    """Sends every due sign-in email that no other worker holds; returns how many were sent."""
    now = now or clock.now()
    return await deliver_due(SignInEmail, lambda pk, token: _deliver(sender, pk, token, now), now, limit)


async def _deliver(sender: EmailSender, pk: int, token: str, now: datetime) -> int:
    email = await SignInEmail.get(id=pk).select_related("user", "code", "user__account")
    mine = SignInEmail.filter(id=pk, claim_token=token)
    outgoing = _compose(email, now)
    if outgoing is None:
        await mine.update(status=EmailStatus.CANCELLED, sealed=None, claim_token=None, claimed_until=None)
        return 0
    try:
        await sender.send(outgoing)
    except Exception as error:
        refusal = error if isinstance(error, EmailNotSent) else EmailNotSent(repr(error), permanent=False)
        if not isinstance(error, EmailNotSent):
            log.exception("sending sign-in email %s failed unexpectedly", pk)
        if refusal.permanent or email.attempts >= MAX_ATTEMPTS:
            log.warning("sign-in email %s given up after %d attempt(s): %s", pk, email.attempts, refusal.reason)
            await mine.update(
                status=EmailStatus.FAILED, sealed=None, last_error=refusal.reason, claim_token=None, claimed_until=None
            )
        else:
            delay = min(FIRST_RETRY * 2 ** (email.attempts - 1), LAST_RETRY)
            await mine.update(
                status=EmailStatus.PENDING,
                due_at=now + delay,
                last_error=refusal.reason,
                claim_token=None,
                claimed_until=None,
            )
        return 0
    await mine.update(
        status=EmailStatus.SENT, sealed=None, sent_at=now, claim_token=None, claimed_until=None, last_error=None
    )
    return 1


def _compose(email: SignInEmail, now: datetime) -> OutgoingEmail | None:
    code: SignInCode = email.code
    user: User = email.user
    if code.used_at is not None or code.expires_at <= now or user.status != UserStatus.ACTIVE or not email.sealed:
        return None
    url = sign_in_link_url(code.purpose, decrypt_credentials(email.sealed)["code"])
    account = user.account.name
    if code.purpose == CodePurpose.INVITE:
        subject = f"You are invited to {account} on Switchboard"
        intro = f"You have been added to the team of {account} on Switchboard. Choose your password:"
        valid = "The link works once, for 7 days."
    else:
        subject = "Reset your Switchboard password"
        intro = f"Someone asked to reset the password of {user.email} on Switchboard ({account}). Choose a new one:"
        valid = "The link works once, for 1 hour. If you did not ask, ignore this email: nothing changes."
    text = "\n".join([f"Hello {user.name},", "", intro, url, "", valid])
    body = (
        f"<p>Hello {html.escape(user.name)},</p><p>{html.escape(intro)}</p>"
        f'<p><a href="{html.escape(url)}">{html.escape(url)}</a></p><p><small>{html.escape(valid)}</small></p>'
    )
    return OutgoingEmail(
        to=user.email, subject=subject, text=text, html=f"<!doctype html><html><body>{body}</body></html>"
    )
