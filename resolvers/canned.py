"""Canned replies: saved texts the viewer fills in from a conversation and sends as any reply.

Personal ones belong to their owner (no one else sees them); shared ones (no owner) are seen by the
whole account and managed by admins, like the other account settings (R-SETTINGS). A canned reply
is only text: `render` fills its placeholders, and the result goes out through `sendMessage`, so
outside the reply window it is refused like any reply (R-REPLY).
"""

from __future__ import annotations

import re

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from models import CannedReply, Contact, ConversationLink, Deal, LinkKind, Person
from resolvers import clock
from resolvers.access import require_conversation
from resolvers.errors import Forbidden, NotFound, ValidationFailed
from resolvers.ids import pk_of
from resolvers.notes import link_is_live
from resolvers.viewer import Viewer

MAX_TEXT = 4_000
MAX_LISTED = 100
PLACEHOLDERS = ("contact.name", "user.name", "person.name", "deal.title")
_SHORTCUT = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


def _shortcut(shortcut: str) -> str:
    """Lower case, without the `/` a user types before it."""
    shortcut = shortcut.strip().removeprefix("/").lower()
    if not _SHORTCUT.fullmatch(shortcut):
        raise ValidationFailed(
            "A shortcut is 1 to 32 letters, digits, '-' or '_', starting with a letter or digit.", field="shortcut"
        )
    return shortcut


def _text(text: str) -> str:
    if not text.strip():
        raise ValidationFailed("A canned reply needs some text.", field="text")
    if len(text) > MAX_TEXT:
        raise ValidationFailed(f"A canned reply holds at most {MAX_TEXT} characters.", field="text")
    unknown = sorted({name.strip() for name in _PLACEHOLDER.findall(text)} - set(PLACEHOLDERS))
    if unknown:
        raise ValidationFailed(
            f"Unknown placeholder {{{{{unknown[0]}}}}}: use {', '.join('{{' + p + '}}' for p in PLACEHOLDERS)}.",
            field="text",
        )
    return text


def _visible(viewer: Viewer) -> Q:
    """The viewer's own and the shared ones of their account."""
    return Q(account_id=viewer.account_id) & (Q(owner_id=viewer.id) | Q(owner_id__isnull=True))


async def canned_replies(viewer: Viewer, search: str | None = None) -> list[CannedReply]:
    """By shortcut (the viewer's own first on a tie); `search` matches the shortcut or the text,
    whatever the case. At most 100."""
    query = CannedReply.filter(_visible(viewer))
    if search and search.strip():
        term = search.strip().removeprefix("/")
        query = query.filter(Q(shortcut__icontains=term) | Q(text__icontains=term))
    rows = await query.order_by("shortcut", "id").limit(MAX_LISTED)
    return sorted(rows, key=lambda row: (row.shortcut, row.owner_id is None))  # stable: ids stay in order


async def visible_canned_reply(viewer: Viewer, pk: int) -> CannedReply | None:
    return await CannedReply.filter(_visible(viewer), id=pk).first()


async def _canned_reply(viewer: Viewer, canned_id: str) -> CannedReply:
    found = await visible_canned_reply(viewer, pk_of("CannedReply", canned_id))
    if found is None:
        raise NotFound("No such canned reply.")
    return found


def _may_change(viewer: Viewer, canned: CannedReply) -> None:
    """One's own, or a shared one as an admin."""
    if canned.owner_id is None and not viewer.is_admin:
        raise Forbidden("Only an admin may change the team's shared canned replies.")


def _taken(shortcut: str) -> ValidationFailed:
    return ValidationFailed(f"The shortcut /{shortcut} is taken.", field="shortcut")


async def _free(viewer: Viewer, owner_id: int | None, shortcut: str, but: int | None = None) -> None:
    query = CannedReply.filter(account_id=viewer.account_id, owner_id=owner_id, shortcut=shortcut)
    if but is not None:
        query = query.exclude(id=but)
    if await query.exists():
        raise _taken(shortcut)


async def create_canned_reply(viewer: Viewer, shortcut: str, text: str, *, shared: bool = False) -> CannedReply:
    """Personal by default; `shared` (the whole team sees it) is for admins only."""
    if shared and not viewer.is_admin:
        raise Forbidden("Only an admin may share a canned reply with the team.")
    shortcut, text = _shortcut(shortcut), _text(text)
    owner_id = None if shared else viewer.id
    await _free(viewer, owner_id, shortcut)
    now = clock.now()
    try:
        return await CannedReply.create(
            account_id=viewer.account_id,
            owner_id=owner_id,
            shortcut=shortcut,
            text=text,
            created_at=now,
            updated_at=now,
        )
    except IntegrityError:  # the same shortcut saved at the same moment
        raise _taken(shortcut) from None


async def update_canned_reply(
    viewer: Viewer, canned_id: str, *, shortcut: str | None = None, text: str | None = None
) -> CannedReply:
    canned = await _canned_reply(viewer, canned_id)
    _may_change(viewer, canned)
    if shortcut is not None:
        canned.shortcut = _shortcut(shortcut)
        await _free(viewer, canned.owner_id, canned.shortcut, but=canned.id)
    if text is not None:
        canned.text = _text(text)
    canned.updated_at = clock.now()
    try:
        await canned.save(update_fields=["shortcut", "text", "updated_at"])
    except IntegrityError:
        raise _taken(canned.shortcut) from None
    return canned


async def delete_canned_reply(viewer: Viewer, canned_id: str) -> int:
    canned = await _canned_reply(viewer, canned_id)
    _may_change(viewer, canned)
    await canned.delete()
    return canned.id


async def render_canned_reply(viewer: Viewer, canned_id: str, conversation_id: str) -> str:
    """The text with each placeholder filled from the conversation as the viewer sees it: the
    contact's name, the viewer's name, the linked person's name, the linked deal's title. A
    placeholder without a value (no name, no link) is empty, never left in braces. Plain text:
    nothing is escaped, the result is what `sendMessage` will send."""
    canned = await _canned_reply(viewer, canned_id)
    conversation = await require_conversation(viewer, conversation_id)
    contact = await Contact.get(id=conversation.contact_id)
    links = [
        link
        for link in await ConversationLink.filter(conversation_id=conversation.id)
        if link_is_live(link, conversation)
    ]
    person_id = next((link.person_id for link in links if link.kind == LinkKind.PERSON), None)
    deal_id = next((link.deal_id for link in links if link.kind == LinkKind.DEAL), None)
    person = await Person.get_or_none(id=person_id) if person_id else None
    deal = await Deal.get_or_none(id=deal_id) if deal_id else None
    values = {
        "contact.name": contact.name or "",
        "user.name": viewer.user.name,
        "person.name": person.name if person else "",
        "deal.title": deal.title if deal else "",
    }
    return _PLACEHOLDER.sub(lambda match: values.get(match[1].strip(), ""), canned.text)
