"""Messages: the one inbound path every provider uses (R-NEW, R-REOPEN, R-IDEMPOTENT) and the thread."""

from __future__ import annotations

from dataclasses import dataclass, field

from tortoise.exceptions import IntegrityError

from models import (
    Attachment,
    Contact,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    InboxEventType,
    Message,
    MessagingApp,
)
from models.sql import MESSAGE_DELIVERED, fetch
from resolvers import clock, files, notes, routing
from resolvers.admin import holds_active
from resolvers.errors import ValidationFailed
from resolvers.events import Change, change
from resolvers.notifications import notify_inbound_message
from resolvers.pagination import cursor_id, decode_cursor, encode_cursor, page_size
from resolvers.text import is_web_url

MAX_TEXT = 64_000
MAX_ATTACHMENTS = 20
_ATTEMPTS = 5


@dataclass(frozen=True)
class InboundMessage:
    """A message from a contact, as every provider normalises it."""

    app_id: int
    provider_message_id: str
    contact_external_id: str
    contact_name: str | None = None
    contact_avatar_url: str | None = None
    text: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    account_id: int | None = None  # the app's account, when the caller has loaded the app (saves a query)


@dataclass(frozen=True)
class Received:
    message: Message
    duplicate: bool


def validate_inbound(inbound: InboundMessage) -> None:
    """Refuses what cannot be stored whole; never truncates silently."""
    if not inbound.provider_message_id or len(inbound.provider_message_id) > 255:
        raise ValidationFailed("The message id is missing or longer than 255 characters.", field="messageId")
    if not inbound.contact_external_id or len(inbound.contact_external_id) > 255:
        raise ValidationFailed("The sender id is missing or longer than 255 characters.", field="sender.id")
    if inbound.contact_name is not None and len(inbound.contact_name) > 255:
        raise ValidationFailed("The sender name is longer than 255 characters.", field="sender.name")
    if inbound.text is not None and len(inbound.text) > MAX_TEXT:
        raise ValidationFailed(f"The text is longer than {MAX_TEXT} characters.", field="text")
    if len(inbound.attachments) > MAX_ATTACHMENTS:
        raise ValidationFailed(f"More than {MAX_ATTACHMENTS} attachments.", field="attachments")
    if not inbound.text and not inbound.attachments:
        raise ValidationFailed("A message needs text or an attachment.", field="text")


def stored_attachments(inbound: InboundMessage) -> list[Attachment]:
    """What `message.attachments` holds for an inbound message: the provider's links as the providers
    kept them (http(s) only). Both inbound paths (one message here, a batch in resolvers/inbound_batch.py)
    write attachments from this one function. Each waits for its copy into the file store (R-MEDIA)."""
    return files.pending_attachments(inbound.attachments)


async def receive_message(inbound: InboundMessage) -> Received:
    """Stores an inbound message once, however often or concurrently it is delivered.

    The unique (app, provider message id) constraint decides; a losing concurrent insert rolls its
    whole transaction back and, on the next attempt, finds the winner's row.
    """
    validate_inbound(inbound)
    for attempt in range(_ATTEMPTS):
        try:
            return await _receive_once(inbound)
        except IntegrityError:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _receive_once(inbound: InboundMessage) -> Received:
    async with change() as c:
        if await fetch(MESSAGE_DELIVERED, inbound.app_id, inbound.provider_message_id):
            existing = await Message.get(app_id=inbound.app_id, provider_message_id=inbound.provider_message_id)
            return Received(existing, duplicate=True)
        conversation, created, opened = await _live_conversation(c, inbound)
        if opened:  # new, back from deletion or reopened: R-ROUTE's policy may give it to someone
            await routing.route_new(c, [conversation])
        contact = conversation.contact
        now = clock.now()
        message = await Message.create(
            account_id=contact.account_id,
            app_id=inbound.app_id,
            conversation_id=conversation.id,
            direction=Direction.INBOUND,
            text=inbound.text,
            attachments=stored_attachments(inbound),
            sender_name=contact.name,
            status=DeliveryStatus.RECEIVED,
            provider_message_id=inbound.provider_message_id,
            created_at=now,
            updated_at=now,
        )
        await files.register_inbound([message])  # R-MEDIA: copied into the file store after the webhook answered
        await set_last_message(conversation, message)
        c.record(InboxEventType.MESSAGE_RECEIVED, conversation, message_id=message.id)
        if not created:  # nobody can have linked a conversation this transaction creates
            await notes.add_to_notes(conversation, message)
        await notify_inbound_message(c, conversation, message)
    return Received(message, duplicate=False)


async def set_last_message(conversation: Conversation, message: Message) -> None:
    """The conversation row carries its last message, so a section page needs no per-row query."""
    conversation.last_message_id = message.id
    conversation.last_message_at = message.created_at
    conversation.last_message_text = message.text
    conversation.last_message_direction = message.direction
    fields = ["last_message_id", "last_message_at", "last_message_text", "last_message_direction"]
    if message.direction == Direction.INBOUND:
        conversation.last_inbound_at = message.created_at
        fields.append("last_inbound_at")
    await conversation.save(update_fields=fields)


async def _live_conversation(c: Change, inbound: InboundMessage) -> tuple[Conversation, bool, bool]:
    """R-NEW, R-REOPEN, and R-DELETE's resurrection: the (app, contact) conversation, open, its row
    locked, with its contact (both found in one statement), whether this created it, and whether
    this opened it (created, brought back or reopened: R-ROUTE's arrivals)."""
    conversation = await (
        Conversation.filter(app_id=inbound.app_id, contact__external_id=inbound.contact_external_id)
        .select_related("contact")
        .select_for_update(of=("conversation",))
        .first()
    )
    if conversation is None:
        contact = await _new_or_existing_contact(inbound)
        conversation = await Conversation.create(
            account_id=contact.account_id,
            app_id=contact.app_id,
            contact_id=contact.id,
            status=ConversationStatus.OPEN,
            created_at=clock.now(),
        )
        conversation.contact = contact
        c.record(InboxEventType.CONVERSATION_CREATED, conversation)
        return conversation, True, True
    await _update_contact(conversation.contact, inbound)
    if conversation.deleted_at is not None:
        conversation.deleted_at = None
        conversation.status = ConversationStatus.OPEN
        conversation.assignee_id = None
        conversation.version += 1
        conversation.created_at = clock.now()
        await conversation.save(update_fields=["deleted_at", "status", "assignee_id", "version", "created_at"])
        c.record(InboxEventType.CONVERSATION_CREATED, conversation)
        return conversation, False, True
    if conversation.status == ConversationStatus.CLOSED:
        conversation.status = ConversationStatus.OPEN
        conversation.version += 1
        left = conversation.assignee_id is not None and not await holds_active(conversation.assignee_id)
        if left:  # R-ADMIN: their assignee was deactivated; it comes back to the team, unassigned
            conversation.assignee_id = None
        await conversation.save(update_fields=["status", "version", "assignee_id"] if left else ["status", "version"])
        c.record(InboxEventType.CONVERSATION_REOPENED, conversation)
        if left:
            c.record(InboxEventType.CONVERSATION_UNASSIGNED, conversation)
        return conversation, False, True
    return conversation, False, False


async def _new_or_existing_contact(inbound: InboundMessage) -> Contact:
    """A contact without a conversation is either new or (rarely) one whose first message lost a race."""
    contact = await Contact.get_or_none(app_id=inbound.app_id, external_id=inbound.contact_external_id)
    if contact is not None:
        await _update_contact(contact, inbound)
        return contact
    account_id = inbound.account_id
    if account_id is None:
        account_id = (await MessagingApp.get(id=inbound.app_id)).account_id
    return await Contact.create(
        account_id=account_id,
        app_id=inbound.app_id,
        external_id=inbound.contact_external_id,
        name=inbound.contact_name,
        avatar_url=inbound.contact_avatar_url,
        created_at=clock.now(),
    )


async def _update_contact(contact: Contact, inbound: InboundMessage) -> None:
    updates = {"name": inbound.contact_name, "avatar_url": inbound.contact_avatar_url}
    changed = {name: value for name, value in updates.items() if value and getattr(contact, name) != value}
    if changed:
        contact.update_from_dict(changed)
        await contact.save(update_fields=list(changed))


def shown_attachments(message: Message) -> list[Attachment]:
    """R-MEDIA: a file of ours (one with a `state`) is shown at our authenticated URL, never the
    provider's. Older rows hold the provider's link: only http(s) links are ever shown (rows stored
    before webhooks dropped the others may hold them)."""
    shown: list[Attachment] = []
    for position, attachment in enumerate(message.attachments or []):
        if "state" in attachment:
            shown.append({**attachment, "url": files.attachment_url(message.id, position)})
        elif is_web_url(attachment["url"]):
            shown.append(attachment)
    return shown


@dataclass
class MessagePage:
    rows: list[Message]
    has_next: bool
    has_previous: bool


def message_cursor(message: Message) -> str:
    return encode_cursor(message.id)


async def messages_page(
    conversation: Conversation,
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> MessagePage:
    """Oldest first; `last`/`before` page backwards from the newest."""
    query = Message.filter(conversation_id=conversation.id)
    if after:
        query = query.filter(id__gt=_message_key(after))
    if before:
        query = query.filter(id__lt=_message_key(before))
    if last is not None and first is None:
        size = page_size(last)
        rows = list(reversed(await query.order_by("-id").limit(size + 1)))
        has_more = len(rows) > size
        return MessagePage(rows[1:] if has_more else rows, before is not None, has_more)
    size = page_size(first)
    rows = await query.order_by("id").limit(size + 1)
    return MessagePage(rows[:size], len(rows) > size, after is not None)


def _message_key(cursor: str) -> int:
    (pk,) = decode_cursor(cursor, 1)
    return cursor_id(pk, Message)
