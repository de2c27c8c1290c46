"""Email notifications (R-NOTIFY): the durable outbox, coalescing, and delivering what is due.

At most one email per user per conversation per EMAIL_COALESCE_SECONDS. The first goes at once;
whatever arrives while a later email is PENDING joins it; an email is due no earlier than one
period after the previous one was attempted. Workers claim a due email with a conditional UPDATE
(`status` + a claim token), so of several processes exactly one sends it; a claim whose worker died
is taken over when its lease ends. The SMTP side is injected (`EmailSender`, providers/email.py).
"""

from __future__ import annotations

import html
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from tortoise.expressions import F, Q

from models import (
    Conversation,
    ConversationStatus,
    Direction,
    EmailItem,
    EmailStatus,
    NotificationKind,
    OutboxEmail,
    SignInEmail,
    User,
    UserStatus,
)
from models.typed import ids_of
from resolvers import clock
from resolvers.access import visible_conversation
from resolvers.events import Change
from resolvers.links import conversation_url
from resolvers.viewer import Viewer
from settings import get_settings

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)
BATCH = 50


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str


class EmailNotSent(Exception):
    """The server did not take the email: `permanent` (5xx) is recorded, anything else retried."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class EmailSender(Protocol):
    async def send(self, email: OutgoingEmail) -> None: ...


# ---- waking the worker of this process after a commit

_waker: Callable[[], None] | None = None


def set_waker(waker: Callable[[], None] | None) -> None:
    global _waker
    _waker = waker


async def wake_worker() -> None:
    if _waker is not None:
        _waker()


# ---- queueing, inside the change that causes the email


async def queue_email(
    c: Change,
    conversation: Conversation,
    user_id: int,
    kind: NotificationKind,
    *,
    message_id: int | None,
    actor_id: int | None,
) -> None:
    now = clock.now()
    period = timedelta(seconds=get_settings().email_coalesce_seconds)
    latest = (
        await OutboxEmail.filter(user_id=user_id, conversation_id=conversation.id)
        .order_by("-id")
        .select_for_update()
        .first()
    )
    if latest is not None and latest.status == EmailStatus.PENDING:
        email = latest
    else:
        due = now
        if latest is not None:
            due = max(now, (latest.attempted_at or latest.due_at) + period)
        email = await OutboxEmail.create(
            account_id=conversation.account_id,
            user_id=user_id,
            conversation_id=conversation.id,
            due_at=due,
            created_at=now,
        )
    await EmailItem.create(email_id=email.id, kind=kind, message_id=message_id, actor_id=actor_id, created_at=now)
    if email.due_at <= now and wake_worker not in c.after_commit:
        c.after_commit.append(wake_worker)


# ---- delivering


def _due(now: datetime) -> Q:
    return Q(status=EmailStatus.PENDING) | Q(status=EmailStatus.SENDING, claimed_until__lt=now)


async def deliver_due(
    outbox: type[OutboxEmail] | type[SignInEmail],
    deliver: Callable[[int, str], Awaitable[int]],
    now: datetime,
    limit: int,
) -> int:
    """Claims each due row of `outbox` that no other worker holds (a lease, LEASE long) and hands it to
    `deliver(pk, claim token)`, one at a time so a lease never outlives a slow batch; how many were sent.
    Both outboxes (notifications here, sign-in links in resolvers/signin_emails.py) are drained this way."""
    candidates = await ids_of(outbox.filter(_due(now), due_at__lte=now).order_by("due_at", "id").limit(limit))
    sent = 0
    for pk in candidates:
        token = secrets.token_hex(16)
        claimed = await outbox.filter(_due(now), id=pk, due_at__lte=now).update(
            status=EmailStatus.SENDING,
            claim_token=token,
            claimed_until=now + LEASE,
            attempted_at=now,
            attempts=F("attempts") + 1,
        )
        if claimed:
            sent += await deliver(pk, token)
    return sent


async def deliver_due_emails(sender: EmailSender, now: datetime | None = None, *, limit: int = BATCH) -> int:
    """Sends every email due at `now` that no other worker holds; returns how many were sent."""
    now = now or clock.now()
    return await deliver_due(OutboxEmail, lambda pk, token: _deliver(sender, pk, token, now), now, limit)


async def _deliver(sender: EmailSender, pk: int, token: str, now: datetime) -> int:
    email = await OutboxEmail.get(id=pk).select_related(
        "user", "conversation", "conversation__contact", "conversation__app"
    )
    mine = OutboxEmail.filter(id=pk, claim_token=token)
    outgoing = await _compose(email)
    if outgoing is None:
        await mine.update(status=EmailStatus.CANCELLED, claim_token=None, claimed_until=None)
        return 0
    try:
        await sender.send(outgoing)
    except EmailNotSent as refusal:
        await _not_sent(email, token, refusal, now)
        return 0
    except Exception as error:  # a bug or an unforeseen transport error: retried, never lost
        log.exception("sending email %s failed unexpectedly", pk)
        await _not_sent(email, token, EmailNotSent(repr(error), permanent=False), now)
        return 0
    await mine.update(status=EmailStatus.SENT, sent_at=now, claim_token=None, claimed_until=None, last_error=None)
    return 1


async def _not_sent(email: OutboxEmail, token: str, refusal: EmailNotSent, now: datetime) -> None:
    mine = OutboxEmail.filter(id=email.id, claim_token=token)
    attempts = email.attempts
    if refusal.permanent or attempts >= MAX_ATTEMPTS:
        log.warning(
            "email %s to user %s given up after %d attempt(s): %s", email.id, email.user_id, attempts, refusal.reason
        )
        await mine.update(status=EmailStatus.FAILED, last_error=refusal.reason, claim_token=None, claimed_until=None)
        return
    delay = min(FIRST_RETRY * 2 ** (attempts - 1), LAST_RETRY)
    await mine.update(
        status=EmailStatus.PENDING, due_at=now + delay, last_error=refusal.reason, claim_token=None, claimed_until=None
    )


# ---- composing


async def _compose(email: OutboxEmail) -> OutgoingEmail | None:
    """The email as it stands now; None when there is nothing left to tell or nobody may read it."""
    conversation: Conversation = email.conversation
    user: User = email.user
    if user.status != UserStatus.ACTIVE:  # deactivated since it was queued: told nothing (R-ADMIN)
        return None
    if await visible_conversation(Viewer(user), conversation) is None:
        return None
    items = await EmailItem.filter(email_id=email.id).order_by("id").select_related("message", "actor")
    messages = [
        item.message
        for item in items
        if item.message_id is not None and item.message is not None and item.message.conversation_id == conversation.id
    ]
    assigners = [
        item.actor.name for item in items if item.kind == NotificationKind.CONVERSATION_ASSIGNED_TO_ME and item.actor
    ]
    mentioners = [item.actor.name for item in items if item.kind == NotificationKind.MENTIONED and item.actor]
    if not messages and not assigners:
        return None
    contact = conversation.contact.name or conversation.contact.external_id
    app = conversation.app.name
    assignee = await User.get_or_none(id=conversation.assignee_id) if conversation.assignee_id else None
    state = (
        "Unassigned"
        if assignee is None
        else "Assigned to you"
        if assignee.id == user.id
        else f"Assigned to {assignee.name}"
    )
    state += ", open" if conversation.status == ConversationStatus.OPEN else ", closed"

    news = []
    if mentioners:
        news.append(f"{mentioners[-1]} mentioned you")
    customer = [message for message in messages if message.direction != Direction.INTERNAL]
    if customer:
        news.append("1 new message" if len(customer) == 1 else f"{len(customer)} new messages")
    if assigners:
        news.append(f"assigned to you by {assigners[-1]}")
    subject = f"{contact} on {app}: {', '.join(news)}"
    url = conversation_url(conversation.id)

    lines = [f"Conversation with {contact} on {app} ({state}).", ""]
    parts = [f"<p>Conversation with <b>{html.escape(contact)}</b> on {html.escape(app)} ({html.escape(state)}).</p>"]
    for name in assigners:
        lines += [f"{name} assigned this conversation to you.", ""]
        parts.append(f"<p>{html.escape(name)} assigned this conversation to you.</p>")
    for message in messages:
        when = message.created_at.strftime("%Y-%m-%d %H:%M UTC")
        sender = message.sender_name or contact
        if message.direction == Direction.INTERNAL:
            sender += " (internal comment, mentioning you)"
        body = message.text or "(attachment)"
        lines += [f"{sender}, {when}:", body, ""]
        parts.append(f"<p><b>{html.escape(sender)}</b>, {when}:<br>{html.escape(body).replace(chr(10), '<br>')}</p>")
    lines += [f"Open the conversation: {url}", "", "You get this email because of your notification settings."]
    parts.append(f'<p><a href="{html.escape(url)}">Open the conversation</a></p>')
    parts.append("<p><small>You get this email because of your notification settings.</small></p>")
    return OutgoingEmail(
        to=user.email,
        subject=subject,
        text="\n".join(lines),
        html="<!doctype html><html><body>" + "".join(parts) + "</body></html>",
    )
