"""R-LABEL: the account's labels, set on conversations, and the label a section may be filtered by.

Labels are account settings (R-SETTINGS): only admins create and delete them. Anyone who can see
a conversation sets its labels. Labels do not move a conversation: its section, order and
version stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tortoise.exceptions import IntegrityError

from models import Conversation, ConversationLabel, InboxEventType, Label
from models.typed import ids_of
from resolvers import clock
from resolvers.access import require_conversation
from resolvers.errors import NotFound, ValidationFailed
from resolvers.events import change
from resolvers.ids import pk_of
from resolvers.viewer import Viewer

MAX_NAME = 50
MAX_LABELS_PER_CONVERSATION = 20
_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")


async def labels(viewer: Viewer) -> list[Label]:
    """The account's labels, by name."""
    return await Label.filter(account_id=viewer.account_id).order_by("name", "id")


async def account_label(viewer: Viewer, label_id: str) -> Label:
    """A label of the viewer's account, else NOT_FOUND (another account's, malformed, deleted)."""
    label = await Label.get_or_none(id=pk_of("Label", label_id), account_id=viewer.account_id)
    if label is None:
        raise NotFound("No such label.")
    return label


def _name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise ValidationFailed(f"A label's name is 1 to {MAX_NAME} characters.", field="name")
    return name


def _color(color: str) -> str:
    if not _COLOR.fullmatch(color):
        raise ValidationFailed("A label's color is #RRGGBB.", field="color")
    return color.upper()


async def create_label(viewer: Viewer, name: str, color: str) -> Label:
    """ADMIN. A name is unique in the account, whatever its case (VALIDATION_FAILED otherwise)."""
    viewer.require_admin()
    name, color = _name(name), _color(color)
    taken = ValidationFailed(f"A label named “{name}” exists already.", field="name")
    if await Label.filter(account_id=viewer.account_id, name__iexact=name).exists():
        raise taken
    try:
        return await Label.create(account_id=viewer.account_id, name=name, color=color, created_at=clock.now())
    except IntegrityError:  # the same name created at the same moment
        raise taken from None


async def delete_label(viewer: Viewer, label_id: str) -> int:
    """ADMIN. The label leaves every conversation it was on, each with a CONVERSATION_LABELED event."""
    viewer.require_admin()
    async with change() as c:
        label = await account_label(viewer, label_id)
        labeled = await ids_of(ConversationLabel.filter(label_id=label.id), "conversation_id")
        for conversation in await Conversation.filter(id__in=labeled, deleted_at__isnull=True).only(
            "id", "account_id", "app_id"
        ):
            c.record(InboxEventType.CONVERSATION_LABELED, conversation, actor_id=viewer.id)
        await label.delete()  # its conversation_label rows go with it (ON DELETE CASCADE)
    return label.id


async def set_conversation_labels(viewer: Viewer, conversation_id: str, label_ids: Sequence[str]) -> Conversation:
    """Sets the whole list (empty: none). Labels of another account are NOT_FOUND. A change writes
    one CONVERSATION_LABELED event; setting the labels it already has writes none."""
    wanted = list(dict.fromkeys(pk_of("Label", label_id) for label_id in label_ids))
    if len(wanted) > MAX_LABELS_PER_CONVERSATION:
        raise ValidationFailed(f"At most {MAX_LABELS_PER_CONVERSATION} labels on a conversation.", field="labelIds")
    async with change() as c:
        # Locked: two people setting labels at once apply one after the other, each a whole list.
        conversation = await require_conversation(viewer, conversation_id, for_update=True)
        found = await ids_of(Label.filter(id__in=wanted, account_id=viewer.account_id), "id")
        if len(found) != len(wanted):
            raise NotFound("No such label.")
        current = set(await ids_of(ConversationLabel.filter(conversation_id=conversation.id), "label_id"))
        if current != set(wanted):
            removed = current - set(wanted)
            if removed:
                await ConversationLabel.filter(conversation_id=conversation.id, label_id__in=removed).delete()
            added = [
                ConversationLabel(conversation_id=conversation.id, label_id=pk) for pk in wanted if pk not in current
            ]
            try:
                await ConversationLabel.bulk_create(added)
            except IntegrityError:  # a label deleted meanwhile: the whole change is undone
                raise NotFound("No such label.") from None
            c.record(InboxEventType.CONVERSATION_LABELED, conversation, actor_id=viewer.id)
    return conversation
