"""Contacts: what a provider tells us about a person after their first message."""

from __future__ import annotations

from models import Contact, Conversation, Direction, Message
from models.typed import ids_of


async def complete_contact(app_id: int, external_id: str, *, name: str | None, avatar_url: str | None) -> bool:
    """Fills the name and picture the contact does not have yet (one statement each, never
    overwriting what a later message set); True if something changed."""
    changed = 0
    contacts = Contact.filter(app_id=app_id, external_id=external_id)
    if name:
        changed += await contacts.filter(name__isnull=True).update(name=name[:255])
        conversation_ids = await ids_of(Conversation.filter(app_id=app_id, contact__external_id=external_id))
        await Message.filter(
            conversation_id__in=list(conversation_ids), direction=Direction.INBOUND, sender_name__isnull=True
        ).update(sender_name=name[:255])
    if avatar_url:
        changed += await contacts.filter(avatar_url__isnull=True).update(avatar_url=avatar_url)
    return changed > 0
