"""R-TEMPLATE: sending an approved template, inside or outside the reply window, and writing first
to a phone number (`startConversation`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from tortoise.exceptions import IntegrityError

from models import (
    Contact,
    Conversation,
    ConversationStatus,
    InboxEventType,
    Message,
    MessageTemplate,
    MessagingApp,
    Provider,
)
from resolvers import clock, crm
from resolvers.access import require_conversation, visible_app_ids
from resolvers.admin import holds_active
from resolvers.errors import AssigneeUnavailable, NotFound, ValidationFailed
from resolvers.events import Change, change
from resolvers.ids import pk_of, to_api_id
from resolvers.linking import LinkTarget, link_conversation
from resolvers.replies import TEXT_LIMITS, queue_send
from resolvers.templates import render, template_values, usable_template
from resolvers.viewer import Viewer

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_ATTEMPTS = 5

Variables = Sequence[tuple[str, str]]


def _rendered(template: MessageTemplate, values: dict[str, str]) -> str:
    """The text the contact will read, stored as the message's text."""
    text = render(template.body, values)
    limit = TEXT_LIMITS[Provider.TWILIO_WHATSAPP]
    if len(text) > limit:
        raise ValidationFailed(f"The filled-in template is longer than {limit} characters.", field="variables")
    return text


async def send_template(viewer: Viewer, conversation_id: str, template_id: str, variables: Variables) -> Message:
    """Like sendMessage (stored QUEUED, then handed to the provider; PROVIDER_ERROR on a refusal), but
    with no window to wait for: an APPROVED template may be sent whenever."""
    conversation = await require_conversation(viewer, conversation_id)
    template = await usable_template(viewer, conversation.app_id, template_id)
    values = template_values(template, variables)
    text = _rendered(template, values)
    async with change() as c:
        conversation = await require_conversation(viewer, conversation_id, for_update=True)
        sending = await queue_send(c, viewer, conversation, text=text, template=template, template_variables=values)
    return await sending.outcome()


async def start_conversation(
    viewer: Viewer, app_id: str, to: str, template_id: str, variables: Variables, person_id: str | None = None
) -> Conversation:
    """Writes first: the (app, number) conversation, found or created, open and (if nobody has it)
    assigned to the caller, with the template sent; linked to the person if one is given. Everything
    is checked before anything is stored."""
    if not E164.match(to):
        raise ValidationFailed("`to` must be a phone number in E.164 form, e.g. +4915112345678.", field="to")
    app = await _whatsapp_app(viewer, app_id)
    template = await usable_template(viewer, app.id, template_id)
    values = template_values(template, variables)
    text = _rendered(template, values)
    if person_id is not None:
        await crm.account_person(viewer, person_id)
    for attempt in range(_ATTEMPTS):
        try:
            async with change() as c:
                conversation = await _live_conversation(c, viewer, app, to)
                sending = await queue_send(
                    c, viewer, conversation, text=text, template=template, template_variables=values
                )
            break
        except IntegrityError:  # a concurrent start for the same number created the contact or conversation
            if attempt == _ATTEMPTS - 1:
                raise
    if person_id is not None:
        await link_conversation(viewer, to_api_id("Conversation", conversation.id), LinkTarget(person_id=person_id))
    await sending.outcome()
    return await Conversation.get(id=conversation.id)


async def _whatsapp_app(viewer: Viewer, app_id: str) -> MessagingApp:
    pk = pk_of("MessagingApp", app_id)
    if pk not in await visible_app_ids(viewer):
        raise NotFound("No such messaging app.")
    app = await MessagingApp.get(id=pk)
    if app.provider != Provider.TWILIO_WHATSAPP:
        raise ValidationFailed("Conversations can be started only on WhatsApp apps.", field="appId")
    return app


async def _live_conversation(c: Change, viewer: Viewer, app: MessagingApp, number: str) -> Conversation:
    """The number's conversation, its row locked: created, brought back (R-DELETE), reopened, and given
    to the caller when nobody has it, each with its event. The caller must be ACTIVE and available
    (R-AVAIL), read under the transaction as R-ADMIN's deactivation requires."""
    if not await holds_active(viewer.id, available=True):
        raise AssigneeUnavailable("You are unavailable: become available to start a conversation (R-AVAIL).")
    now = clock.now()
    conversation = (
        await Conversation.filter(app_id=app.id, contact__external_id=number)
        .select_for_update(of=("conversation",))
        .first()
    )
    if conversation is None:
        contact = await Contact.get_or_none(app_id=app.id, external_id=number)
        if contact is None:
            contact = await Contact.create(account_id=app.account_id, app_id=app.id, external_id=number, created_at=now)
        conversation = await Conversation.create(
            account_id=app.account_id,
            app_id=app.id,
            contact_id=contact.id,
            status=ConversationStatus.OPEN,
            assignee_id=viewer.id,
            created_at=now,
        )
        c.record(InboxEventType.CONVERSATION_CREATED, conversation, actor_id=viewer.id)
        return conversation
    if conversation.deleted_at is not None:
        conversation.update_from_dict(
            {"deleted_at": None, "status": ConversationStatus.OPEN, "assignee_id": viewer.id, "created_at": now}
        )
        conversation.version += 1
        await conversation.save(update_fields=["deleted_at", "status", "assignee_id", "version", "created_at"])
        c.record(InboxEventType.CONVERSATION_CREATED, conversation, actor_id=viewer.id)
        return conversation
    if conversation.status == ConversationStatus.CLOSED:
        conversation.status = ConversationStatus.OPEN
        conversation.version += 1
        left = conversation.assignee_id is not None and not await holds_active(conversation.assignee_id)
        if left:  # R-ADMIN: their assignee was deactivated; it comes back unassigned (and then to the caller)
            conversation.assignee_id = None
        await conversation.save(update_fields=["status", "version", "assignee_id"] if left else ["status", "version"])
        c.record(InboxEventType.CONVERSATION_REOPENED, conversation, actor_id=viewer.id)
        if left:
            c.record(InboxEventType.CONVERSATION_UNASSIGNED, conversation, actor_id=viewer.id)
    if conversation.assignee_id is None:
        conversation.assignee_id = viewer.id
        conversation.version += 1
        await conversation.save(update_fields=["assignee_id", "version"])
        c.record(InboxEventType.CONVERSATION_ASSIGNED, conversation, actor_id=viewer.id)
    return conversation
