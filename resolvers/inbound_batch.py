"""A batch of inbound messages written set-based in one transaction (PostgreSQL), the rules as
`resolvers/messages.receive_message` keeps them for one message: R-IDEMPOTENT, R-NEW, R-REOPEN,
R-DELETE's resurrection, R-NOTE and R-NOTIFY.

Each step is one statement for the whole batch, its rows in key order, and the steps take their
locks in the same order in every batch (message keys, then contacts, then conversations by id, then
the event-order lock), so concurrent batches wait for each other instead of deadlocking:

1. the messages, without their conversation yet: the unique (app, provider message id) decides
   which are new; the others are duplicates and change nothing further;
2. the contacts of the new messages, created or renamed, locked, and with them their
   conversations, locked (one statement);
3. the missing conversations created (R-NEW);
4. and 5. the messages placed in their conversation; the conversations opened (R-REOPEN),
   brought back (R-DELETE) and given their last message (one statement);
6. the notes of linked conversations (R-NOTE: rare, one message at a time, as today);
7. who is notified (R-NOTIFY): the members' settings; emails through `queue_email`;
8. the desktop notifications and the events, in one statement under the event-order lock.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from models import (
    Conversation,
    ConversationStatus,
    InboxEventType,
    Message,
    NotificationKind,
)
from models.sql import (
    ACTIVE_USERS,
    APPS_MEMBERS_NOTIFICATION_SETTINGS,
    INSERT_CONVERSATIONS,
    INSERT_INBOUND_MESSAGES,
    INSERT_NOTIFICATIONS_AND_EVENTS,
    LINKED_CONVERSATIONS,
    LOCK_CONVERSATIONS,
    PLACE_INBOUND_MESSAGES,
    UPSERT_CONTACTS_LOCKING_CONVERSATIONS,
    AdvisoryLock,
    Record,
    fetch,
)
from resolvers import clock, files, notes, routing
from resolvers.emails import queue_email
from resolvers.events import Change
from resolvers.messages import InboundMessage, stored_attachments
from resolvers.notifications import DEFAULTS, Choice
from subscriptions.publisher import publish_notifications


class Contended(Exception):
    """A conversation another writer created between our lock and our insert: try the batch again."""


@dataclass(frozen=True)
class Stored:
    """What a webhook needs to answer: the message's id, whether it was already stored, its sender's name."""

    message_id: int | None
    duplicate: bool
    sender_name: str | None = None


@dataclass
class _Conversation:
    id: int
    account_id: int
    app_id: int
    assignee_id: int | None
    created: bool = False
    back: bool = False  # deleted, brought back (R-DELETE)
    reopened: bool = False  # closed, reopened (R-REOPEN)
    unassigned: bool = False  # reopened, its assignee deactivated: back to the team (R-ADMIN)


async def store_batch(c: Change, batch: list[InboundMessage]) -> list[Stored]:
    """Stores `batch` (validated, each with its account) in the current transaction; one result per message.
    A message repeated within the batch is stored once, the repeats answered as duplicates."""
    now = clock.now()
    first: dict[tuple[int, str], int] = {}
    for index, inbound in enumerate(batch):
        first.setdefault((inbound.app_id, inbound.provider_message_id), index)
    unique = [batch[index] for index in first.values()]

    # 1. the messages (R-IDEMPOTENT)
    inserted = await fetch(
        INSERT_INBOUND_MESSAGES,
        [m.account_id for m in unique],
        [m.app_id for m in unique],
        [m.provider_message_id for m in unique],
        [m.text for m in unique],
        [json.dumps(stored_attachments(m)) for m in unique],
        now,
    )
    message_ids = {(row["app_id"], row["provider_message_id"]): row["id"] for row in inserted}
    new = [m for m in unique if (m.app_id, m.provider_message_id) in message_ids]
    if not new:
        return [Stored(None, duplicate=True) for _ in batch]

    # 2. the contacts: the latest name and avatar of the batch, in arrival order (R-NEW)
    contacts: dict[tuple[int, str], InboundMessage] = {}
    names: dict[tuple[int, str], tuple[str | None, str | None]] = {}
    for m in new:
        key = (m.app_id, m.contact_external_id)
        contacts.setdefault(key, m)
        name, avatar = names.get(key, (None, None))
        names[key] = (m.contact_name or name, m.contact_avatar_url or avatar)
    keys = sorted(contacts)
    contact_rows = await fetch(
        UPSERT_CONTACTS_LOCKING_CONVERSATIONS,
        [contacts[key].account_id for key in keys],
        [key[0] for key in keys],
        [key[1] for key in keys],
        [names[key][0] for key in keys],
        [names[key][1] for key in keys],
        now,
    )
    contact_of = {(row["app_id"], row["external_id"]): row for row in contact_rows}

    # 3. their conversations, locked above, the missing ones created; a reopened one whose
    # assignee was deactivated comes back unassigned (R-ADMIN)
    conversations = await _conversations(contacts, contact_of, now)
    await _unassign_the_deactivated([c for c in conversations.values() if c.reopened and c.assignee_id is not None])

    # 4 and 5. the messages in their conversations, each with its sender's name; the conversations
    # opened, brought back, with their last message
    def sender_name(m: InboundMessage) -> str | None:
        return m.contact_name or contact_of[m.app_id, m.contact_external_id]["name"]

    last: dict[int, InboundMessage] = {}
    for m in new:
        last[conversations[m.app_id, m.contact_external_id].id] = m
    touched = sorted(last)
    by_id = {conversation.id: conversation for conversation in conversations.values()}
    await fetch(
        PLACE_INBOUND_MESSAGES,
        touched,
        [message_ids[last[id].app_id, last[id].provider_message_id] for id in touched],
        [last[id].text for id in touched],
        [by_id[id].back for id in touched],
        [by_id[id].reopened for id in touched],
        now,
        [message_ids[m.app_id, m.provider_message_id] for m in new],
        [conversations[m.app_id, m.contact_external_id].id for m in new],
        [sender_name(m) for m in new],
        [by_id[id].unassigned for id in touched],
    )
    placed = [
        (m, conversations[m.app_id, m.contact_external_id], message_ids[m.app_id, m.provider_message_id]) for m in new
    ]

    # 5a. R-MEDIA: each attachment waits for its copy into the file store, after the answer
    await files.register_inbound(
        [
            files.InboundFiles(conversation.account_id, message_id, conversation.id, stored_attachments(m))
            for m, conversation, message_id in placed
        ]
    )

    # 5b. R-ROUTE: the conversations this batch created, brought back or reopened unassigned go to
    # someone by their app's policy (its CONVERSATION_ASSIGNED events follow the batch's, at commit)
    arrivals = [
        (by_id[id].app_id, id)
        for id in touched
        if by_id[id].assignee_id is None and (by_id[id].created or by_id[id].back or by_id[id].reopened)
    ]
    for conversation_id, assignee_id in (await routing.route_new_ids(c, arrivals)).items():
        by_id[conversation_id].assignee_id = assignee_id

    # 6. R-NOTE: only conversations that existed before this batch can be linked
    await _notes([(conversation, message_id) for _, conversation, message_id in placed if not conversation.created])

    # 7. R-NOTIFY: who is told, and how (the desktop rows are written with the events)
    desktop = await _notify(c, placed)

    # 8. the events: a conversation's CREATED or REOPENED before its messages
    events: list[tuple[_Conversation, int | None, InboxEventType]] = []
    announced: set[int] = set()
    for _, conversation, message_id in placed:
        if conversation.id not in announced:
            announced.add(conversation.id)
            if conversation.created or conversation.back:
                events.append((conversation, None, InboxEventType.CONVERSATION_CREATED))
            elif conversation.reopened:
                events.append((conversation, None, InboxEventType.CONVERSATION_REOPENED))
                if conversation.unassigned:
                    events.append((conversation, None, InboxEventType.CONVERSATION_UNASSIGNED))
        events.append((conversation, message_id, InboxEventType.MESSAGE_RECEIVED))
    written = await fetch(
        INSERT_NOTIFICATIONS_AND_EVENTS,
        [conversation.account_id for conversation, _, _ in events],
        [conversation.app_id for conversation, _, _ in events],
        [conversation.id for conversation, _, _ in events],
        [message_id for _, message_id, _ in events],
        [type.value for _, _, type in events],
        now,
        AdvisoryLock.EVENT_ORDER,
        [conversation.account_id for conversation, _, _, _ in desktop],
        [user_id for _, user_id, _, _ in desktop],
        [conversation.app_id for conversation, _, _, _ in desktop],
        [kind.value for _, _, kind, _ in desktop],
        [conversation.id for conversation, _, _, _ in desktop],
        [message_id for _, _, _, message_id in desktop],
    )
    c.event_ids.extend(sorted(row["id"] for row in written if row["kind"] == "event"))
    pairs = [(row["user_id"], row["id"]) for row in written if row["kind"] == "notification"]
    if pairs:
        c.after_commit.append(lambda: publish_notifications(pairs))

    results: list[Stored] = []
    for index, m in enumerate(batch):
        key = (m.app_id, m.provider_message_id)
        if key in message_ids and first[key] == index:
            results.append(Stored(message_ids[key], duplicate=False, sender_name=sender_name(m)))
        else:
            results.append(Stored(message_ids.get(key), duplicate=True))
    return results


async def _conversations(
    contacts: dict[tuple[int, str], InboundMessage], contact_of: dict[tuple[int, str], Record], now: datetime
) -> dict[tuple[int, str], _Conversation]:
    """R-NEW, R-REOPEN, R-DELETE: each contact's conversation (locked with its contact), created if missing."""
    found: dict[tuple[int, str], _Conversation] = {}
    for key, row in contact_of.items():
        if row["conversation_id"] is not None:
            found[key] = _found(contacts[key], row["conversation_id"], row)
    missing = sorted((key for key in contacts if key not in found), key=lambda key: int(contact_of[key]["id"]))
    if not missing:
        return found
    key_of = {contact_of[key]["id"]: key for key in missing}
    rows = await fetch(
        INSERT_CONVERSATIONS,
        [contacts[key].account_id for key in missing],
        [key[0] for key in missing],
        [contact_of[key]["id"] for key in missing],
        now,
    )
    for row in rows:
        key = key_of[row["contact_id"]]
        found[key] = _Conversation(row["id"], contacts[key].account_id or 0, key[0], None, created=True)
    raced = [key for key in missing if key not in found]
    if raced:  # created by a batch that committed while ours waited for the contact's lock (R-NEW)
        for row in await fetch(LOCK_CONVERSATIONS, [key[0] for key in raced], [contact_of[key]["id"] for key in raced]):
            key = key_of[row["contact_id"]]
            found[key] = _found(contacts[key], row["id"], row)
        if any(key not in found for key in raced):
            raise Contended("a conversation was created concurrently and not found")
    return found


def _found(inbound: InboundMessage, conversation_id: int, row: Record) -> _Conversation:
    """An existing conversation from its locked row: brought back if deleted, reopened if closed."""
    return _Conversation(
        id=conversation_id,
        account_id=inbound.account_id or 0,
        app_id=inbound.app_id,
        assignee_id=None if row["deleted"] else row["assignee_id"],
        back=bool(row["deleted"]),
        reopened=not row["deleted"] and row["status"] == ConversationStatus.CLOSED.value,
    )


async def _unassign_the_deactivated(reopened: list[_Conversation]) -> None:
    """R-ADMIN as `resolvers/admin.holds_active` in `messages._live_conversation`: the assignees read
    again, FOR SHARE; a conversation whose assignee is no longer ACTIVE reopens unassigned."""
    if not reopened:
        return
    active = {row["id"] for row in await fetch(ACTIVE_USERS, sorted({c.assignee_id for c in reopened}))}
    for conversation in reopened:
        if conversation.assignee_id not in active:
            conversation.assignee_id = None
            conversation.unassigned = True


async def _notes(placed: list[tuple[_Conversation, int]]) -> None:
    """R-NOTE for the few linked conversations, through `notes.add_to_notes` as every other path."""
    if not placed:
        return
    linked = {row["conversation_id"] for row in await fetch(LINKED_CONVERSATIONS, sorted({c.id for c, _ in placed}))}
    if not linked:
        return
    for conversation_id, message_id in [(c.id, m) for c, m in placed if c.id in linked]:
        conversation = await Conversation.get(id=conversation_id)
        await notes.add_to_notes(conversation, await Message.get(id=message_id))


async def _notify(
    c: Change, placed: list[tuple[InboundMessage, _Conversation, int]]
) -> list[tuple[_Conversation, int, NotificationKind, int]]:
    """R-NOTIFY as `notifications.notify_inbound_message`, for the whole batch: everyone with access to
    the app, each by the conversation's assignment as they see it. Queues the emails; returns the
    desktop notifications to write (conversation, user, kind, message)."""
    members: dict[int, dict[int, dict[NotificationKind, Choice]]] = defaultdict(dict)
    apps = sorted({conversation.app_id for _, conversation, _ in placed})
    for row in await fetch(APPS_MEMBERS_NOTIFICATION_SETTINGS, apps):
        choices = members[row["app_id"]].setdefault(
            row["user_id"], {kind: Choice(kind, *DEFAULTS[kind]) for kind in NotificationKind}
        )
        if row["kind"] is not None:
            kind = NotificationKind(row["kind"])
            choices[kind] = Choice(kind, bool(row["desktop"]), bool(row["email"]))
    desktop: list[tuple[_Conversation, int, NotificationKind, int]] = []
    emails: list[tuple[int, int, NotificationKind, int]] = []
    for _, conversation, message_id in placed:
        for user_id, chosen in members[conversation.app_id].items():
            kind = (
                NotificationKind.NEW_MESSAGE_UNASSIGNED
                if conversation.assignee_id is None
                else NotificationKind.NEW_MESSAGE_ASSIGNED_TO_ME
                if conversation.assignee_id == user_id
                else NotificationKind.NEW_MESSAGE_ASSIGNED_TO_OTHERS
            )
            if chosen[kind].desktop:
                desktop.append((conversation, user_id, kind, message_id))
            if chosen[kind].email:
                emails.append((conversation.id, user_id, kind, message_id))
    if emails:  # coalesced per user and conversation (resolvers/emails.py): one row at a time, as today
        loaded = {row.id: row for row in await Conversation.filter(id__in=sorted({e[0] for e in emails}))}
        for conversation_id, user_id, kind, message_id in emails:
            await queue_email(c, loaded[conversation_id], user_id, kind, message_id=message_id, actor_id=None)
    return desktop
