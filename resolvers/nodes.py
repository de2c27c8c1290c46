"""`node(id)`: any object the viewer may see, else nothing (never another tenant's, never an unshared app's)."""

from __future__ import annotations

from tortoise.models import Model

from models import Account, Contact, Conversation, Deal, Lead, Message, MessagingApp, Note, Person, User
from resolvers.errors import NotFound
from resolvers.ids import parse_api_id
from resolvers.notifications import visible_notification
from resolvers.viewer import Viewer


async def find_node(viewer: Viewer, api_id: str) -> Model | None:
    try:
        type_name, pk = parse_api_id(api_id)
    except NotFound:
        return None
    apps = list(await viewer.app_ids())
    account = viewer.account_id
    if type_name == "User":
        return await User.get_or_none(id=pk, account_id=account)
    if type_name == "Account":
        return await Account.get_or_none(id=pk) if pk == account else None
    if type_name == "MessagingApp":
        if viewer.is_admin:
            return await MessagingApp.get_or_none(id=pk, account_id=account)
        return await MessagingApp.get_or_none(id=pk, account_id=account, id__in=apps)
    if type_name == "Conversation":
        return await Conversation.get_or_none(id=pk, account_id=account, app_id__in=apps, deleted_at__isnull=True)
    if type_name == "Contact":
        return await Contact.get_or_none(id=pk, account_id=account, app_id__in=apps)
    if type_name == "Message":
        # A deleted conversation's messages are tombstones without a conversation: they do not exist.
        return await Message.get_or_none(
            id=pk, account_id=account, app_id__in=apps, conversation_id__isnull=False, conversation__deleted_at__isnull=True
        )
    if type_name == "Notification":
        return await visible_notification(viewer, pk)
    if type_name in _CRM:
        return await _CRM[type_name].get_or_none(id=pk, account_id=account)
    return None


_CRM: dict[str, type[Model]] = {"Person": Person, "Lead": Lead, "Deal": Deal, "Note": Note}

