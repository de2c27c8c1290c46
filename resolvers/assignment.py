"""R-AVAIL and R-ASSIGN: who may be given a conversation, and assigning without lost updates."""

from __future__ import annotations

from models import Conversation, ConversationStatus, InboxEventType, User, UserStatus
from resolvers import routing
from resolvers.access import account_user, has_access, require_conversation
from resolvers.admin import holds_active
from resolvers.errors import AssigneeNoAccess, AssigneeUnavailable
from resolvers.events import change
from resolvers.notifications import notify_assigned
from resolvers.versions import compare_and_set
from resolvers.viewer import Viewer


async def set_availability(viewer: Viewer, available: bool) -> User:
    """Going unavailable leaves the conversations a user already has with them. Becoming available
    takes queued conversations of the user's apps at once (R-ROUTE), in a transaction right after
    this one: routing takes an app's lock before users' rows, and this one holds the user's row."""
    await User.filter(id=viewer.id).update(available=available)
    viewer.user.available = available
    if available:
        async with change() as c:
            await routing.drain(c, await routing.user_app_ids(viewer.id))
    return viewer.user


async def assign_conversation(viewer: Viewer, conversation_id: str, user_id: str) -> Conversation:
    conversation = await require_conversation(viewer, conversation_id)
    assignee = await account_user(viewer, user_id)
    if assignee.status != UserStatus.ACTIVE:
        raise AssigneeUnavailable(f"{assignee.name} is deactivated.", reason="DEACTIVATED")
    if not assignee.available:
        raise AssigneeUnavailable(f"{assignee.name} is not available for new conversations.")
    if not await has_access(assignee.id, conversation.app_id):
        raise AssigneeNoAccess(f"{assignee.name} has no access to this conversation's app.")
    if conversation.assignee_id == assignee.id:
        return conversation
    async with change() as c:
        if not await holds_active(assignee.id, available=True):  # again, in the transaction (R-ADMIN)
            raise AssigneeUnavailable(f"{assignee.name} is no longer available for new conversations.")
        previous = conversation.assignee_id
        if await compare_and_set(conversation, assignee_id=assignee.id):
            c.record(InboxEventType.CONVERSATION_ASSIGNED, conversation, actor_id=viewer.id)
            await notify_assigned(c, conversation, actor_id=viewer.id)
            if previous is not None and conversation.status == ConversationStatus.OPEN:
                await routing.drain(c, [conversation.app_id])  # R-ROUTE: the previous assignee has a slot free
    return conversation


async def unassign_conversation(viewer: Viewer, conversation_id: str) -> Conversation:
    conversation = await require_conversation(viewer, conversation_id)
    if conversation.assignee_id is None:
        return conversation
    async with change() as c:
        if await compare_and_set(conversation, assignee_id=None):
            c.record(InboxEventType.CONVERSATION_UNASSIGNED, conversation, actor_id=viewer.id)
            if conversation.status == ConversationStatus.OPEN:
                # R-ROUTE: a slot is free; the queue, this conversation now in it, is taken oldest first
                await routing.drain(c, [conversation.app_id])
    return conversation
