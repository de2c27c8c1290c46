"""R-AVAIL and R-ASSIGN: who may be given a conversation, and assigning without lost updates."""

from __future__ import annotations

from models import Conversation, InboxEventType, User, UserStatus
from resolvers.access import account_user, has_access, require_conversation
from resolvers.admin import holds_active
from resolvers.errors import AssigneeNoAccess, AssigneeUnavailable
from resolvers.events import change
from resolvers.notifications import notify_assigned
from resolvers.versions import compare_and_set
from resolvers.viewer import Viewer


async def set_availability(viewer: Viewer, available: bool) -> User:
    """Going unavailable leaves the conversations a user already has with them."""
    await User.filter(id=viewer.id).update(available=available)
    viewer.user.available = available
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
        if await compare_and_set(conversation, assignee_id=assignee.id):
            c.record(InboxEventType.CONVERSATION_ASSIGNED, conversation, actor_id=viewer.id)
            await notify_assigned(c, conversation, actor_id=viewer.id)
    return conversation


async def unassign_conversation(viewer: Viewer, conversation_id: str) -> Conversation:
    conversation = await require_conversation(viewer, conversation_id)
    if conversation.assignee_id is None:
        return conversation
    async with change() as c:
        if await compare_and_set(conversation, assignee_id=None):
            c.record(InboxEventType.CONVERSATION_UNASSIGNED, conversation, actor_id=viewer.id)
    return conversation
