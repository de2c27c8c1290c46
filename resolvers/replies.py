"""R-REPLY: who may reply, the providers' reply windows, and every outbound message's creation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError

from models import (
    Attachment,
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
    StoredFile,
)
from resolvers import clock, files, notes
from resolvers.access import require_conversation
from resolvers.delivery import LEASE, SendResult, StatusUpdate, apply_status, deliver
from resolvers.errors import Conflict, NotFound, ProviderError, ReplyWindowClosed, ValidationFailed
from resolvers.events import Change, change
from resolvers.ids import parse_api_id, pk_of, to_api_id
from resolvers.messages import MAX_TEXT, set_last_message
from resolvers.viewer import Viewer

# Free-form replies are allowed this long after the contact's last inbound message.
REPLY_WINDOWS: dict[Provider, timedelta] = {
    Provider.TWILIO_WHATSAPP: timedelta(hours=24),
    Provider.MESSENGER: timedelta(hours=24),
}
# The providers' own limits, so a reply is refused here rather than cut or bounced there.
TEXT_LIMITS: dict[Provider, int] = {Provider.TWILIO_WHATSAPP: 1600, Provider.MESSENGER: 2000, Provider.API: MAX_TEXT}


def reply_window_ends_at(provider: Provider, conversation: Conversation) -> datetime | None:
    """None for a channel without a window (the API channel), or before any inbound message."""
    window = REPLY_WINDOWS.get(provider)
    if window is None or conversation.last_inbound_at is None:
        return None
    return conversation.last_inbound_at + window


def can_reply(provider: Provider, conversation: Conversation) -> bool:
    if conversation.deleted_at is not None:
        return False
    if provider not in REPLY_WINDOWS:
        return True
    ends = reply_window_ends_at(provider, conversation)
    return ends is not None and clock.now() < ends


async def record_outbound(
    c: Change,
    conversation: Conversation,
    *,
    text: str | None,
    status: DeliveryStatus,
    sender_name: str | None,
    sent_by_id: int | None = None,
    attachments: Sequence[Attachment] = (),
    provider_message_id: str | None = None,
    template: MessageTemplate | None = None,
    template_variables: dict[str, str] | None = None,
) -> Message:
    """THE way an outbound message comes to exist (our replies and the page's own echoes alike):
    the row, the conversation's last message, and the MESSAGE_SENT event, inside `c`."""
    now = clock.now()
    message = await Message.create(
        account_id=conversation.account_id,
        app_id=conversation.app_id,
        conversation_id=conversation.id,
        direction=Direction.OUTBOUND,
        text=text,
        attachments=list(attachments),
        sender_name=sender_name,
        sent_by_id=sent_by_id,
        status=status,
        provider_message_id=provider_message_id,
        template_id=template.id if template else None,
        template_variables=template_variables,
        created_at=now,
        updated_at=now,
    )
    await set_last_message(conversation, message)
    c.record(InboxEventType.MESSAGE_SENT, conversation, message_id=message.id, actor_id=sent_by_id)
    await notes.add_to_notes(conversation, message)
    return message


def _reply_text(provider: Provider, text: str) -> str:
    if not text.strip():
        raise ValidationFailed("A reply needs some text.", field="text")
    limit = TEXT_LIMITS[provider]
    if len(text) > limit:
        raise ValidationFailed(f"A reply on this channel holds at most {limit} characters.", field="text")
    return text


async def send_message(
    viewer: Viewer,
    conversation_id: str,
    text: str | None,
    attachment_ids: Sequence[str] = (),
    expected_last_message_id: str | None = None,
) -> Message:
    """Stores the reply QUEUED, then (after commit) hands it to the provider.

    Text, files (R-MEDIA: uploads of the viewer's account, each used once) or both. Returns it SENT
    when the provider accepted it, QUEUED when the provider could not be reached (it is retried);
    raises PROVIDER_ERROR (providerCode, messageId) when the provider refused it, the message then
    being FAILED with that code in the thread. With `expected_last_message_id` (R-PRESENCE), CONFLICT
    (reason NEW_ACTIVITY) when the thread has moved on since the sender last looked."""
    expected_pk = pk_of("Message", expected_last_message_id) if expected_last_message_id is not None else None
    conversation = await require_conversation(viewer, conversation_id)
    app = await MessagingApp.get(id=conversation.app_id)
    if text is None and not attachment_ids:
        raise ValidationFailed("A reply needs some text or a file.", field="text")
    if text is not None:
        text = _reply_text(app.provider, text)
    uploads = await files.uploads_for_reply(viewer.account_id, app.provider, attachment_ids)
    async with change() as c:
        conversation = await require_conversation(viewer, conversation_id, for_update=True)
        if not can_reply(app.provider, conversation):
            raise ReplyWindowClosed(
                "The reply window is closed: the contact has not written in the last 24 hours, "
                "so the provider only accepts template messages.",
                windowEndedAt=_iso(reply_window_ends_at(app.provider, conversation)),
            )
        if expected_pk is not None:
            await _refuse_over_new_activity(conversation, expected_pk)
        sending = await queue_send(c, viewer, conversation, text=text, uploads=uploads)
    return await sending.outcome()


async def _refuse_over_new_activity(conversation: Conversation, expected_pk: int) -> None:
    """R-PRESENCE's stale-send guard (Help Scout's): a message or comment newer than the one the sender
    last saw refuses the reply. Called with the conversation's row locked: inbound messages, comments
    and replies all lock it before adding to the thread, so nothing slips in between check and send.
    Ids grow with arrival, so "newer" is a greater id."""
    thread = Message.filter(conversation_id=conversation.id)
    if not await thread.filter(id=expected_pk).exists():
        raise NotFound("No such message in this conversation.", field="expectedLastMessageId")
    if await thread.filter(id__gt=expected_pk).exists():
        raise Conflict(
            "Someone wrote in this conversation since you last looked: read it before sending.",
            reason="NEW_ACTIVITY",
        )


@dataclass
class Sending:
    """A reply stored QUEUED in a change; after its commit, what the provider made of it."""

    message: Message
    results: list[SendResult | None] = field(default_factory=list)

    async def outcome(self) -> Message:
        """The message as stored now; PROVIDER_ERROR (providerCode, messageId) if the provider refused it."""
        result = self.results[0] if self.results else None
        stored = await Message.get(id=self.message.id)
        if result is not None and result.refused:
            raise ProviderError(
                f"The provider refused the message ({result.error_code}): {result.error_message or 'no reason given'}",
                providerCode=result.error_code,
                messageId=to_api_id("Message", self.message.id),
            )
        return stored


async def queue_send(
    c: Change,
    viewer: Viewer,
    conversation: Conversation,
    *,
    text: str | None,
    template: MessageTemplate | None = None,
    template_variables: dict[str, str] | None = None,
    uploads: Sequence[StoredFile] = (),
) -> Sending:
    """A user's message, stored QUEUED with its send owed (OutboundSend) in `c`; handed to the provider
    once `c` commits. The conversation's row must be locked by `c`. `uploads` (R-MEDIA) become its
    attachments, each claimed once."""
    message = await record_outbound(
        c,
        conversation,
        text=text,
        status=DeliveryStatus.QUEUED,
        sender_name=viewer.user.name,
        sent_by_id=viewer.id,
        template=template,
        template_variables=template_variables,
        attachments=files.outbound_attachments(uploads),
    )
    await files.claim_uploads(message, uploads)
    await OutboundSend.create(message_id=message.id, attempts=1, next_attempt_at=clock.now() + LEASE)
    sending = Sending(message)

    async def send() -> None:
        sending.results.append(await deliver(message.id))

    c.after_commit.append(send)
    return sending


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def local_message_pk(api_id: str | None) -> int | None:
    """Our message id as we gave it to a provider (Messenger metadata, API channel messageId)."""
    if not api_id:
        return None
    try:
        type_name, pk = parse_api_id(api_id)
    except NotFound:
        return None
    return pk if type_name == "Message" else None


async def receive_echo(
    app_id: int,
    contact_external_id: str,
    provider_message_id: str,
    *,
    text: str | None,
    attachments: Sequence[Attachment] = (),
    local_id: str | None = None,
) -> bool:
    """Messenger echoes: our own send (its metadata is our id) becomes SENT with the provider's id;
    a message the page sent from elsewhere is stored as outbound, once. False: no conversation."""
    pk = local_message_pk(local_id)
    if pk is not None and await Message.filter(id=pk, app_id=app_id, direction=Direction.OUTBOUND).exists():
        await apply_status(
            StatusUpdate(app_id, DeliveryStatus.SENT, provider_message_id=provider_message_id, message_pk=pk)
        )
        return True
    if await Message.filter(app_id=app_id, provider_message_id=provider_message_id).exists():
        return True
    contact = await Contact.get_or_none(app_id=app_id, external_id=contact_external_id)
    if contact is None:
        return False
    try:
        async with change() as c:
            conversation = (
                await Conversation.filter(app_id=app_id, contact_id=contact.id, deleted_at__isnull=True)
                .select_for_update()
                .first()
            )
            if conversation is None:
                return False
            app = await MessagingApp.get(id=app_id)
            await record_outbound(
                c,
                conversation,
                text=text,
                attachments=attachments,
                status=DeliveryStatus.SENT,
                sender_name=app.name,
                provider_message_id=provider_message_id,
            )
    except IntegrityError:  # the same echo delivered twice at once: the other one stored it
        pass
    return True
