"""R-CLOSE and R-DELETE."""

from __future__ import annotations

from tortoise.expressions import F, Subquery

from models import (
    Conversation,
    ConversationLabel,
    ConversationStatus,
    InboxEventType,
    Message,
    MessageMention,
    MessagingApp,
)
from resolvers import clock, files, routing
from resolvers.access import require_conversation
from resolvers.admin import holds_active
from resolvers.errors import Forbidden
from resolvers.events import change
from resolvers.versions import compare_and_set
from resolvers.viewer import Viewer


async def close_conversation(viewer: Viewer, conversation_id: str) -> Conversation:
    """Closing keeps the assignee."""
    return await _set_status(viewer, conversation_id, ConversationStatus.CLOSED, InboxEventType.CONVERSATION_CLOSED)


async def reopen_conversation(viewer: Viewer, conversation_id: str) -> Conversation:
    """Back to the section its assignment gives."""
    return await _set_status(viewer, conversation_id, ConversationStatus.OPEN, InboxEventType.CONVERSATION_REOPENED)


async def _set_status(
    viewer: Viewer, conversation_id: str, status: ConversationStatus, event: InboxEventType
) -> Conversation:
    conversation = await require_conversation(viewer, conversation_id)
    if conversation.status == status:
        return conversation
    async with change() as c:
        changes: dict[str, object] = {"status": status}
        assignee = conversation.assignee_id
        if status == ConversationStatus.OPEN and assignee is not None and not await holds_active(assignee):
            changes["assignee_id"] = None  # R-ADMIN: their assignee was deactivated; back to the team
        if await compare_and_set(conversation, **changes):
            c.record(event, conversation, actor_id=viewer.id)
            if "assignee_id" in changes:
                c.record(InboxEventType.CONVERSATION_UNASSIGNED, conversation, actor_id=viewer.id)
            if status == ConversationStatus.OPEN:
                await routing.route_new(c, [conversation])  # R-ROUTE: reopened unassigned
            elif assignee is not None:
                await routing.drain(c, [conversation.app_id])  # R-ROUTE: closing freed a slot
    return conversation


async def delete_conversation(viewer: Viewer, conversation_id: str) -> int:
    """Installer only. Erases the history for good; message rows stay as content-free tombstones
    so a provider's late retry of an old message is still recognised as a duplicate."""
    conversation = await require_conversation(viewer, conversation_id)
    app = await MessagingApp.get(id=conversation.app_id)
    if app.installed_by_id != viewer.id:
        raise Forbidden("Only the user who installed this app may delete its conversations.")
    async with change() as c:
        # Locked first: an inbound message committing meanwhile would otherwise keep its text and
        # come back with the resurrected conversation.
        conversation = await require_conversation(viewer, conversation_id, for_update=True)
        erased = Subquery(Message.filter(conversation_id=conversation.id).values("id"))
        await MessageMention.filter(message_id__in=erased).delete()
        await ConversationLabel.filter(conversation_id=conversation.id).delete()  # it comes back bare (R-LABEL)
        await Message.filter(conversation_id=conversation.id).update(
            conversation_id=None, text=None, attachments=[], sender_name=None, error_message=None
        )
        await files.forget_conversation_files(c, conversation.id)
        await Conversation.filter(id=conversation.id).update(
            deleted_at=clock.now(),
            status=ConversationStatus.OPEN,
            assignee_id=None,
            version=F("version") + 1,
            last_message_id=None,
            last_message_at=None,
            last_message_text=None,
            last_message_direction=None,
            last_inbound_at=None,
        )
        c.record(InboxEventType.CONVERSATION_DELETED, conversation, actor_id=viewer.id)
        if conversation.status == ConversationStatus.OPEN and conversation.assignee_id is not None:
            await routing.drain(c, [conversation.app_id])  # R-ROUTE: its assignee has a slot free
    return conversation.id
