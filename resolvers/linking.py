"""R-LINK: a conversation linked to one person, one lead and one deal, existing or created on the spot."""

from __future__ import annotations

from dataclasses import dataclass, replace

from models import (
    Contact,
    Conversation,
    ConversationLink,
    Deal,
    InboxEventType,
    Lead,
    LinkKind,
    MessagingApp,
    Person,
    Provider,
)
from resolvers import clock, crm
from resolvers.access import require_conversation
from resolvers.errors import ValidationFailed
from resolvers.events import change
from resolvers.notes import link_is_live, start_note, target_field
from resolvers.viewer import Viewer


@dataclass(frozen=True)
class LinkTarget:
    """Exactly one field set: an existing entity's API id, or one to create."""

    person_id: str | None = None
    lead_id: str | None = None
    deal_id: str | None = None
    new_person: crm.NewPerson | None = None
    new_lead: crm.NewLead | None = None
    new_deal: crm.NewDeal | None = None


_KINDS = {Person: LinkKind.PERSON, Lead: LinkKind.LEAD, Deal: LinkKind.DEAL}


async def link_conversation(viewer: Viewer, conversation_id: str, target: LinkTarget) -> Conversation:
    """Links (or re-links: the kind's previous link is replaced) and writes the first note."""
    chosen = [name for name, value in vars(target).items() if value is not None]
    if len(chosen) != 1:
        raise ValidationFailed("Set exactly one field of `target`.", field="target")
    async with change() as c:
        conversation = await require_conversation(viewer, conversation_id, for_update=True)
        entity = await _target(viewer, conversation, target)
        kind = _KINDS[type(entity)]
        link = await ConversationLink.get_or_none(conversation_id=conversation.id, kind=kind)
        if link is not None and link_is_live(link, conversation) and getattr(link, target_field(kind)) == entity.id:
            return conversation
        if link is None:
            link = ConversationLink(account_id=conversation.account_id, conversation_id=conversation.id, kind=kind)
        for field in (target_field(other) for other in LinkKind):
            setattr(link, field, None)
        setattr(link, target_field(kind), entity.id)
        link.note_id = None
        link.linked_by_id = viewer.id
        link.linked_at = clock.now()
        await link.save()
        await start_note(link, conversation, since=None)
        c.record(InboxEventType.CONVERSATION_LINKED, conversation, actor_id=viewer.id)
    return conversation


async def unlink_conversation(viewer: Viewer, conversation_id: str, kind: LinkKind) -> Conversation:
    """No new notes from now on; the notes already written stay on the entity."""
    async with change() as c:
        conversation = await require_conversation(viewer, conversation_id, for_update=True)
        if await ConversationLink.filter(conversation_id=conversation.id, kind=kind).delete():
            c.record(InboxEventType.CONVERSATION_UNLINKED, conversation, actor_id=viewer.id)
    return conversation


async def _target(viewer: Viewer, conversation: Conversation, target: LinkTarget) -> Person | Lead | Deal:
    if target.person_id is not None:
        return await crm.account_person(viewer, target.person_id)
    if target.lead_id is not None:
        return await crm.account_lead(viewer, target.lead_id)
    if target.deal_id is not None:
        return await crm.account_deal(viewer, target.deal_id)
    if target.new_lead is not None:
        return await crm.create_lead(viewer, target.new_lead)
    if target.new_deal is not None:
        return await crm.create_deal(viewer, target.new_deal)
    assert target.new_person is not None
    return await crm.create_person(viewer, await _prefilled(conversation, target.new_person))


async def _prefilled(conversation: Conversation, new: crm.NewPerson) -> crm.NewPerson:
    """A new person defaults to the contact's name, and to its phone: a WhatsApp contact's id is one."""
    contact = await Contact.get(id=conversation.contact_id)
    if new.name is None:
        new = replace(new, name=contact.name or contact.external_id)
    if new.phone is None:
        app = await MessagingApp.get(id=conversation.app_id)
        if app.provider == Provider.TWILIO_WHATSAPP:
            new = replace(new, phone=contact.external_id)
    return new
