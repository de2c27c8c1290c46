"""R-NOTE: a linked conversation's history, written as notes on its person, lead and deal.

A note covers a 24-hour window from its start; every message in that window re-renders it, the
first message after it starts a new note. A note a user edited or deleted is theirs: the next
message starts a new one. Notes are written in the transaction of the message (or the link) that
causes them, under the conversation's row lock, so concurrent messages agree on one note per window.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from models import (
    Contact,
    Conversation,
    ConversationLink,
    ConversationStatus,
    Direction,
    LinkKind,
    Message,
    Note,
    User,
)
from models.sql import Dialect, dialect
from resolvers import clock
from resolvers.errors import NotFound, ValidationFailed
from resolvers.ids import pk_of
from resolvers.links import conversation_url
from resolvers.viewer import Viewer

WINDOW = timedelta(hours=24)
HISTORY = 20
MAX_CONTENT = 64_000
_TARGET_FIELD = {LinkKind.PERSON: "person_id", LinkKind.LEAD: "lead_id", LinkKind.DEAL: "deal_id"}


def target_field(kind: LinkKind) -> str:
    return _TARGET_FIELD[kind]


async def lock_conversation(conversation: Conversation) -> None:
    """The conversation's row lock serialises every note writer of that conversation on PostgreSQL.
    SQLite needs none: Tortoise runs one SQLite transaction at a time."""
    if dialect() == Dialect.POSTGRES:
        await Conversation.filter(id=conversation.id).select_for_update().values_list("id", flat=True)


def link_is_live(link: ConversationLink, conversation: Conversation) -> bool:
    """Deleting a conversation ends its links (R-DELETE): the conversation a later message brings
    back has a new `created_at` and starts unlinked. Stale links are dropped at the next message."""
    return link.linked_at >= conversation.created_at


async def add_to_notes(conversation: Conversation, message: Message) -> None:
    """Call in the transaction that stores `message` (inbound or outbound), holding the conversation's
    row lock as both paths do: re-renders or starts the note of every link of the conversation.
    An unlinked conversation costs one query; a link being made meanwhile waits for the lock, and
    its first note then shows this message."""
    if not await ConversationLink.exists(conversation_id=conversation.id):
        return
    await lock_conversation(conversation)
    links = await ConversationLink.filter(conversation_id=conversation.id).select_related("note")
    stale = [link.id for link in links if not link_is_live(link, conversation)]
    if stale:
        await ConversationLink.filter(id__in=stale).delete()
    rendered: dict[datetime | None, str] = {}
    for link in links:
        if link.id in stale:
            continue
        note = link.note if link.note_id is not None else None
        if note is not None and note.edited_at is None and _in_window(note, message.created_at):
            if note.messages_since not in rendered:
                rendered[note.messages_since] = await render(conversation, note.messages_since)
            # Conditional: a user's edit or delete that commits first wins, and the message starts a new note.
            if await Note.filter(id=note.id, edited_at__isnull=True).update(
                content=rendered[note.messages_since], updated_at=clock.now()
            ):
                continue
        await start_note(link, conversation, since=message.created_at)


def _in_window(note: Note, moment: datetime) -> bool:
    """Whether `moment` falls in the note's 24 hours (every note a link points to has its window start)."""
    return note.window_starts_at is not None and moment < note.window_starts_at + WINDOW


async def start_note(link: ConversationLink, conversation: Conversation, *, since: datetime | None) -> Note:
    """A new note on the link's target, its window starting now. `since=None` (on link) shows the
    history before it too; otherwise only messages from `since` on."""
    now = clock.now()
    note = await Note.create(
        account_id=conversation.account_id,
        conversation_id=conversation.id,
        content=await render(conversation, since),
        window_starts_at=since or now,
        messages_since=since,
        created_at=now,
        updated_at=now,
        **{target_field(link.kind): getattr(link, target_field(link.kind))},
    )
    link.note_id = note.id
    await ConversationLink.filter(id=link.id).update(note_id=note.id)
    return note


async def render(conversation: Conversation, since: datetime | None) -> str:
    # The team's comments are theirs, never the CRM's (R-COMMENT).
    query = Message.filter(conversation_id=conversation.id).exclude(direction=Direction.INTERNAL)
    if since is not None:
        query = query.filter(created_at__gte=since)
    messages = list(reversed(await query.order_by("-id").limit(HISTORY)))
    contact = conversation.__dict__.get("_contact") or await Contact.get(id=conversation.contact_id)
    assignee = await User.get_or_none(id=conversation.assignee_id) if conversation.assignee_id else None
    who = contact.name or contact.external_id
    lines = [
        f"Conversation with {who} ({contact.external_id})" if contact.name else f"Conversation with {who}",
        f"{f'Assigned to {assignee.name}' if assignee else 'Unassigned'} · "
        f"{'Closed' if conversation.status == ConversationStatus.CLOSED else 'Open'}",
        conversation_url(conversation.id),
        "",
    ]
    lines += [_line(message, who) for message in messages]
    return "\n".join(lines)


def _line(message: Message, contact_name: str) -> str:
    inbound = message.direction == Direction.INBOUND
    sender = message.sender_name or (contact_name if inbound else "Team")
    moment = message.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = message.text or ""
    if message.attachments:
        count = len(message.attachments)
        body = f"{body} [{count} attachment{'s' if count > 1 else ''}]".strip()
    return f"{moment} · {sender} ({'inbound' if inbound else 'outbound'}): {body}"


# ---- users' own changes to notes


async def account_note(viewer: Viewer, note_id: str) -> Note:
    note = await Note.get_or_none(id=pk_of("Note", note_id), account_id=viewer.account_id)
    if note is None:
        raise NotFound("No such note.")
    return note


async def update_note(viewer: Viewer, note_id: str, content: str) -> Note:
    """The note becomes the user's: later messages no longer re-render it."""
    if not content.strip() or len(content) > MAX_CONTENT:
        raise ValidationFailed(f"`content` must be 1 to {MAX_CONTENT} characters.", field="content")
    note = await account_note(viewer, note_id)
    now = clock.now()
    note.content = content
    note.edited_at = now
    note.updated_at = now
    await note.save(update_fields=["content", "edited_at", "updated_at"])
    return note


async def delete_note(viewer: Viewer, note_id: str) -> int:
    note = await account_note(viewer, note_id)
    async with in_transaction():
        await ConversationLink.filter(note_id=note.id).update(note_id=None)
        await note.delete()
    return note.id
