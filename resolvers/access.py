"""What a viewer may see. Anything else does not exist for them: NOT_FOUND, never FORBIDDEN."""

from __future__ import annotations

from models import Conversation, MessagingApp, User
from resolvers.errors import NotFound
from resolvers.ids import pk_of
from resolvers.viewer import Viewer


async def visible_conversation(viewer: Viewer, conversation_id: str, *, for_update: bool = False) -> Conversation:
    pk = pk_of("Conversation", conversation_id)
    query = Conversation.filter(
        id=pk, account_id=viewer.account_id, app_id__in=list(await viewer.app_ids()), deleted_at__isnull=True
    )
    if for_update:
        query = query.select_for_update()
    conversation = await query.first()
    if conversation is None:
        raise NotFound("No such conversation.")
    return conversation


async def account_user(viewer: Viewer, user_id: str) -> User:
    user = await User.get_or_none(id=pk_of("User", user_id), account_id=viewer.account_id)
    if user is None:
        raise NotFound("No such user.")
    return user


async def account_app(viewer: Viewer, app_id: str) -> MessagingApp:
    """An app of the viewer's account, shared or not (for admins' settings)."""
    app = await MessagingApp.get_or_none(id=pk_of("MessagingApp", app_id), account_id=viewer.account_id)
    if app is None:
        raise NotFound("No such messaging app.")
    return app


async def visible_app_id(viewer: Viewer, app_id: str) -> int:
    pk = pk_of("MessagingApp", app_id)
    if pk not in await viewer.app_ids():
        raise NotFound("No such messaging app.")
    return pk
