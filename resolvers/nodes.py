"""`node(id)`: any object the viewer may see, else nothing (never another tenant's, never an unshared app's)."""

from __future__ import annotations

from tortoise.models import Model

from models import Account, Deal, Label, Lead, MessageTemplate, Note, Person, User
from resolvers.access import (
    visible_app_ids,
    visible_apps,
    visible_contacts,
    visible_conversations,
    visible_messages,
    visible_tokens,
)
from resolvers.canned import visible_canned_reply
from resolvers.errors import NotFound
from resolvers.ids import parse_api_id
from resolvers.notifications import visible_notification
from resolvers.viewer import Viewer


async def find_node(viewer: Viewer, api_id: str) -> Model | None:
    try:
        type_name, pk = parse_api_id(api_id)
    except NotFound:
        return None
    if type_name == "ApiToken":  # needs no apps
        return await visible_tokens(viewer).get_or_none(id=pk)
    apps = await visible_app_ids(viewer)
    account = viewer.account_id
    if type_name == "User":
        return await User.get_or_none(id=pk, account_id=account)
    if type_name == "Account":
        return await Account.get_or_none(id=pk) if pk == account else None
    if type_name == "MessagingApp":
        return await (await visible_apps(viewer)).get_or_none(id=pk)
    if type_name == "Conversation":
        return await visible_conversations(viewer, apps).get_or_none(id=pk)
    if type_name == "Contact":
        return await visible_contacts(viewer, apps).get_or_none(id=pk)
    if type_name == "Message":
        return await visible_messages(viewer, apps).get_or_none(id=pk)
    if type_name == "MessageTemplate":
        return await MessageTemplate.get_or_none(id=pk, account_id=account, app_id__in=apps)
    if type_name == "Notification":
        return await visible_notification(viewer, pk)
    if type_name == "CannedReply":
        return await visible_canned_reply(viewer, pk)
    if type_name in _CRM:
        return await _CRM[type_name].get_or_none(id=pk, account_id=account)
    return None


# Rows of the account that every user of it may see.
_CRM: dict[str, type[Model]] = {"Person": Person, "Lead": Lead, "Deal": Deal, "Note": Note, "Label": Label}
