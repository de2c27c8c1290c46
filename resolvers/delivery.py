"""Outbound delivery (R-REPLY): the channel interface providers implement, settling a send's
outcome, forward-only status updates, and the retry of sends that were never settled."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypedDict, cast

from tortoise.queryset import QuerySet, QuerySetSingle
from tortoise.transactions import in_transaction

from models import (
    Contact,
    Conversation,
    DeliveryStatus,
    Direction,
    InboxEventType,
    Message,
    MessageTemplate,
    MessagingApp,
    OutboundSend,
    Provider,
)
from resolvers import clock
from resolvers.credentials import decrypt_credentials
from resolvers.events import Change, change
from resolvers.files import public_url

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# A claimed send is the claimer's for this long; past it, a crashed claimer's send is claimed again.
LEASE = timedelta(seconds=120)
UNREACHABLE = "PROVIDER_UNREACHABLE"

# Statuses only move forward: each status replaces only those listed (FAILED only from below DELIVERED).
REPLACES: dict[DeliveryStatus, tuple[DeliveryStatus, ...]] = {
    DeliveryStatus.SENT: (DeliveryStatus.QUEUED,),
    DeliveryStatus.DELIVERED: (DeliveryStatus.QUEUED, DeliveryStatus.SENT),
    DeliveryStatus.READ: (DeliveryStatus.QUEUED, DeliveryStatus.SENT, DeliveryStatus.DELIVERED),
    DeliveryStatus.FAILED: (DeliveryStatus.QUEUED, DeliveryStatus.SENT),
}


@dataclass(frozen=True)
class OutboundFile:
    """A reply's file as a provider fetches it: a public, signed, expiring link (R-MEDIA)."""

    url: str
    content_type: str
    filename: str


@dataclass(frozen=True)
class Outbound:
    """Everything a channel needs to send one reply."""

    message: Message
    app: MessagingApp
    credentials: Mapping[str, str]
    contact: Contact
    "The template it is sent from (R-TEMPLATE): the provider gets the template and the message's values."
    template: MessageTemplate | None = None
    "A reply's files (R-MEDIA), as public signed links."
    files: tuple[OutboundFile, ...] = ()


def outbound_files(message: Message) -> tuple[OutboundFile, ...]:
    """Signed when the send is tried, so a retry hours later still hands the provider a live link."""
    return tuple(
        OutboundFile(
            public_url(attachment["fileId"], attachment.get("filename")),
            attachment.get("contentType") or "application/octet-stream",
            attachment.get("filename") or "file",
        )
        for attachment in message.attachments or []
        if "fileId" in attachment
    )


@dataclass(frozen=True)
class SendResult:
    """Accepted (with the provider's id when it gives one), refused with the provider's code, or
    `retry`: the provider could not be reached or asked us to come back (the send is tried again)."""

    provider_message_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    retry: bool = False

    @property
    def refused(self) -> bool:
        return self.error_code is not None and not self.retry


class Channel(Protocol):
    async def send(self, outbound: Outbound) -> SendResult: ...


_channels: dict[Provider, Channel] = {}


def use_channels(channels: Mapping[Provider, Channel]) -> None:
    """Installed by the providers' runtime at start-up; empty when no process can send."""
    _channels.clear()
    _channels.update(channels)


@dataclass(frozen=True)
class StatusUpdate:
    """A provider's word on one of our messages, found by the provider's id or by our own id."""

    app_id: int
    status: DeliveryStatus
    provider_message_id: str | None = None
    message_pk: int | None = None
    error_code: str | None = None
    error_message: str | None = None


class _Row(TypedDict):
    """The columns of an outbound message that a status change reads and writes by."""

    id: int
    conversation_id: int | None
    account_id: int
    app_id: int
    provider_message_id: str | None


_ROW = ("id", "conversation_id", "account_id", "app_id", "provider_message_id")


# Tortoise types the rows of `.values()` as dict[str, Any]; asked for the columns of _ROW, they are _Row.
async def _row(query: QuerySetSingle[Message | None]) -> _Row | None:
    return cast("_Row | None", await query.values(*_ROW))


async def _rows(query: QuerySet[Message]) -> list[_Row]:
    return cast(list[_Row], await query.values(*_ROW))


def _event_conversation(row: _Row) -> Conversation:
    return Conversation(id=row["conversation_id"], account_id=row["account_id"], app_id=row["app_id"])


async def _move(c: Change, row: _Row, status: DeliveryStatus, **extra: object) -> bool:
    """One statement: moves the message only if its stored status ranks below `status`."""
    changes: dict[str, object] = {"status": status, "updated_at": clock.now(), **extra}
    moved = await Message.filter(id=row["id"], status__in=REPLACES[status]).update(**changes)
    if moved and row["conversation_id"] is not None:
        c.record(InboxEventType.MESSAGE_STATUS_CHANGED, _event_conversation(row), message_id=row["id"])
    return bool(moved)


async def apply_status(update: StatusUpdate) -> bool:
    """False when no such outbound message (yet): the caller answers 200 and logs it."""
    async with change() as c:
        return await apply_status_in(c, update)


async def apply_status_in(c: Change, update: StatusUpdate) -> bool:
    """`apply_status` inside a change the caller holds (a batch of webhooks: resolvers/ingest.py)."""
    query = Message.filter(app_id=update.app_id, direction=Direction.OUTBOUND)
    row = None
    if update.provider_message_id:
        row = await _row(query.filter(provider_message_id=update.provider_message_id).first())
    if row is None and update.message_pk is not None:
        row = await _row(query.filter(id=update.message_pk).first())
    if row is None:
        return False
    extra: dict[str, object] = {}
    if update.error_code:  # a callback without a code never erases a stored one
        extra.update(error_code=update.error_code[:64], error_message=update.error_message)
    if update.provider_message_id and row["provider_message_id"] is None:
        extra["provider_message_id"] = update.provider_message_id
    await _move(c, row, update.status, **extra)
    return True


async def apply_watermark(app_id: int, contact_external_id: str, status: DeliveryStatus, watermark: datetime) -> int:
    """Messenger's delivery/read: every outbound message to the contact sent up to `watermark`."""
    async with change() as c:
        rows = await _rows(
            Message.filter(
                app_id=app_id,
                direction=Direction.OUTBOUND,
                conversation__contact__external_id=contact_external_id,
                created_at__lte=watermark,
                status__in=REPLACES[status],
            )
        )
        moved = [row for row in rows if await _move(c, row, status)]
    return len(moved)


# ---- sending


async def settle(message_id: int, result: SendResult) -> None:
    """Records a send's outcome: SENT, FAILED with the provider's code, or another try later."""
    async with change() as c:
        send = await OutboundSend.filter(message_id=message_id).select_for_update().first()
        row = await _row(Message.filter(id=message_id).first())
        if row is None:  # gone
            return
        if result.retry:
            if send is None:  # another process settled it meanwhile
                return
            if send.attempts < MAX_ATTEMPTS:
                send.next_attempt_at = clock.now() + backoff(send.attempts)
                send.last_error = f"{result.error_code or ''} {result.error_message or ''}".strip()[:1000] or None
                await send.save(update_fields=["next_attempt_at", "last_error"])
                return
            await send.delete()
            await _move(
                c,
                row,
                DeliveryStatus.FAILED,
                error_code=UNREACHABLE,
                error_message=f"The provider could not be reached after {send.attempts} attempts: {result.error_message or result.error_code}",
            )
            return
        if send is not None:
            await send.delete()
        if result.error_code is not None:  # refused
            await _move(
                c, row, DeliveryStatus.FAILED, error_code=result.error_code[:64], error_message=result.error_message
            )
        else:
            extra: dict[str, object] = {}
            pmid = result.provider_message_id
            taken = pmid and await Message.filter(app_id=row["app_id"], provider_message_id=pmid).exists()
            if pmid and row["provider_message_id"] is None and not taken:
                extra["provider_message_id"] = pmid
            await _move(c, row, DeliveryStatus.SENT, **extra)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 900))


async def deliver(message_id: int) -> SendResult | None:
    """Sends one QUEUED reply through its provider and settles the outcome.

    None when nothing was tried: no channel in this process (the retry loop of a running server
    will send it) or the message is no longer QUEUED."""
    message = await Message.get_or_none(id=message_id, status=DeliveryStatus.QUEUED)
    if message is None:
        await OutboundSend.filter(message_id=message_id).delete()
        return None
    app = await MessagingApp.get(id=message.app_id)
    channel = _channels.get(app.provider)
    if channel is None or message.conversation_id is None:
        if message.conversation_id is None:
            await settle(message_id, SendResult(error_code="DELETED", error_message="The conversation was deleted."))
        return None
    contact = await Contact.get(conversations__id=message.conversation_id)
    template = await MessageTemplate.get_or_none(id=message.template_id) if message.template_id else None
    credentials = decrypt_credentials(app.credentials_encrypted)
    outbound = Outbound(message, app, credentials, contact, template, outbound_files(message))
    try:
        result = await channel.send(outbound)
    except Exception as error:  # a bug or an unforeseen transport error must not lose the message
        log.exception("message %s: sending through %s failed", message_id, app.provider)
        result = SendResult(error_code=UNREACHABLE, error_message=type(error).__name__, retry=True)
    if result.refused:
        log.warning(
            "message %s refused by %s: %s %s", message_id, app.provider, result.error_code, result.error_message
        )
    elif result.retry:
        log.warning("message %s: %s unreachable: %s", message_id, app.provider, result.error_message)
    await settle(message_id, result)
    return result


async def claim_due_sends(limit: int = 20) -> list[int]:
    """Sends whose lease ran out (never settled). Several processes may run this at once: on
    PostgreSQL `FOR UPDATE SKIP LOCKED` gives each row to one of them, and the new lease keeps it."""
    now = clock.now()
    async with in_transaction():
        due = (
            await OutboundSend.filter(next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .limit(limit)
            .select_for_update(skip_locked=True)
        )
        for send in due:
            send.attempts += 1
            send.next_attempt_at = now + LEASE
            await send.save(update_fields=["attempts", "next_attempt_at"])
    return [send.message_id for send in due]


async def retry_due_sends(limit: int = 20) -> int:
    """One pass of the retry loop; returns how many sends were tried."""
    claimed = await claim_due_sends(limit)
    for message_id in claimed:
        send = await OutboundSend.get_or_none(message_id=message_id)
        if send is not None and send.attempts > MAX_ATTEMPTS:
            await settle(
                message_id, SendResult(error_code=UNREACHABLE, error_message=send.last_error or "no answer", retry=True)
            )
            continue
        await deliver(message_id)
    return len(claimed)
