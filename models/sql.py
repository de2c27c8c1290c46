"""Hand-written SQL, the one test of which database we are on, and the advisory lock keys.

A statement is written here only where building it through the ORM costs more CPU than the
database spends on it (the inbound path). Parameters are written `$1`, `$2` … in the order they
appear; `fetch` hands them to SQLite as `?`.
"""

from __future__ import annotations

import re
from enum import IntEnum, StrEnum
from typing import Any

from tortoise import connections


class Dialect(StrEnum):
    POSTGRES = "postgres"
    SQLITE = "sqlite"


def dialect() -> Dialect:
    """The database of the default connection."""
    return Dialect(connections.get("default").capabilities.dialect)


class AdvisoryLock(IntEnum):
    """Every PostgreSQL advisory lock key in use (transaction-scoped locks: `pg_advisory_xact_lock`)."""

    # Serialises the moment events are written, so event ids become visible in id order: a reader
    # resuming after id N can never later see a smaller id commit (no gap on replay).
    EVENT_ORDER = 0x5B1E_E7E7
    # With the account's id as second key (the two-key form, a key space apart from EVENT_ORDER's):
    # serialises the changes that could take an account's last active admin away (R-ADMIN).
    ACCOUNT_ADMINS = 0x5B1E_AD77


# Every webhook's app, read together for the webhooks arriving at the same moment (one round trip
# for all of them: providers/webhooks.py); the ORM's form costs several times the CPU.
WEBHOOK_APPS = (
    "SELECT id, account_id, provider, name, installed_by_id, credentials_encrypted, created_at"
    " FROM messaging_app WHERE id = ANY($1::int[])"
)
WEBHOOK_APP = (  # SQLite has no arrays: one app a statement
    "SELECT id, account_id, provider, name, installed_by_id, credentials_encrypted, created_at"
    " FROM messaging_app WHERE id = $1"
)

# R-IDEMPOTENT's check on every delivery: the ORM's form costs twice the CPU.
MESSAGE_DELIVERED = "SELECT 1 FROM message WHERE app_id = $1 AND provider_message_id = $2"

# On every inbound message: the ORM's form of this join costs three times the CPU.
MEMBERS_NOTIFICATION_SETTINGS = (
    "SELECT a.user_id, s.kind, s.desktop, s.email FROM app_access a"
    " JOIN \"user\" u ON u.id = a.user_id AND u.status = 'ACTIVE'"  # deactivated users are told nothing (R-ADMIN)
    " LEFT JOIN notification_setting s ON s.user_id = a.user_id WHERE a.app_id = $1"
)

# PostgreSQL only. Parameters: AdvisoryLock.ACCOUNT_ADMINS, the account's id.
LOCK_ACCOUNT_ADMINS = "SELECT pg_advisory_xact_lock($1::int, $2::int)"

# The user row if they are ACTIVE (R-ADMIN), and with AND_AVAILABLE if they may be given a conversation
# (R-AVAIL). Read FOR SHARE on PostgreSQL (resolvers/admin.holds_active), the row stays so until commit.
ACTIVE_USER = "SELECT id FROM \"user\" WHERE id = $1 AND status = 'ACTIVE'"
AND_AVAILABLE = " AND available"

# PostgreSQL only. Takes the EVENT_ORDER lock in the statement that draws the event's id (one round
# trip on every change); taking it again for a second event of the same transaction is harmless
# (it is re-entrant). Parameters: account, app, conversation, message, actor, type, occurred_at, lock.
INSERT_EVENT_IN_ORDER = (
    "INSERT INTO inbox_event (account_id, app_id, conversation_id, message_id, actor_id, type, occurred_at)"
    " SELECT $1::int, $2::int, $3::int, $4::int, $5::int, $6::varchar, $7::timestamptz"
    " FROM pg_advisory_xact_lock($8) RETURNING id"
)

_NUMBERED = re.compile(r"\$\d+")


async def fetch(statement: str, *values: Any) -> list[dict[str, Any]]:
    """Rows of `statement` on the current connection (the transaction's, inside one)."""
    if dialect() != Dialect.POSTGRES:
        statement = _NUMBERED.sub("?", statement)
    rows: list[dict[str, Any]] = await connections.get("default").execute_query_dict(statement, list(values))
    return rows


# ---- a batch of inbound messages, set-based (PostgreSQL only: resolvers/inbound_batch.py)
# Every statement takes its rows as parallel arrays (UNNEST) and writes them in key order, so two
# batches touching the same keys take their locks in the same order and cannot deadlock.

# The unique (app, provider message id) decides what is new (R-IDEMPOTENT): a row a concurrent
# transaction is inserting is waited for, then skipped. The conversation is set further on, in the
# same transaction. Parameters: accounts, apps, provider ids, texts, attachments (JSON), now.
INSERT_INBOUND_MESSAGES = (
    "INSERT INTO message (account_id, app_id, direction, text, attachments, status, provider_message_id,"
    " created_at, updated_at)"
    " SELECT m.account_id, m.app_id, 'INBOUND', m.text, m.attachments::jsonb, 'RECEIVED', m.provider_message_id,"
    " $6::timestamptz, $6::timestamptz"
    " FROM unnest($1::int[], $2::int[], $3::varchar[], $4::text[], $5::text[])"
    " AS m(account_id, app_id, provider_message_id, text, attachments)"
    " ORDER BY m.app_id, m.provider_message_id"
    " ON CONFLICT (app_id, provider_message_id) DO NOTHING"
    " RETURNING id, app_id, provider_message_id"
)

# Creates the contacts not seen yet and gives the others the latest name and avatar; either way the
# row is locked until commit, which serialises every batch writing to one contact (R-NEW). In the
# same statement, the contacts' conversations are locked, in id order. One row per contact, its
# conversation's columns null when it has none yet.
# Parameters: accounts, apps, external ids, names, avatar URLs, now.
UPSERT_CONTACTS_LOCKING_CONVERSATIONS = (
    "WITH contacts AS ("
    "INSERT INTO contact (account_id, app_id, external_id, name, avatar_url, created_at)"
    " SELECT c.account_id, c.app_id, c.external_id, c.name, c.avatar_url, $6::timestamptz"
    " FROM unnest($1::int[], $2::int[], $3::varchar[], $4::varchar[], $5::text[])"
    " AS c(account_id, app_id, external_id, name, avatar_url)"
    " ORDER BY c.app_id, c.external_id"
    " ON CONFLICT (app_id, external_id) DO UPDATE SET"
    " name = COALESCE(EXCLUDED.name, contact.name), avatar_url = COALESCE(EXCLUDED.avatar_url, contact.avatar_url)"
    " RETURNING id, app_id, external_id, name),"
    " locked AS (SELECT v.id, v.contact_id, v.status, v.assignee_id, v.deleted_at IS NOT NULL AS deleted"
    " FROM conversation v JOIN contacts c ON v.app_id = c.app_id AND v.contact_id = c.id"
    " ORDER BY v.id FOR UPDATE OF v)"
    " SELECT c.id, c.app_id, c.external_id, c.name, l.id AS conversation_id, l.status, l.assignee_id, l.deleted"
    " FROM contacts c LEFT JOIN locked l ON l.contact_id = c.id"
)

# The conversations another batch created (and committed) after our statement above took its
# snapshot: locked now. Parameters: apps, contacts.
LOCK_CONVERSATIONS = (
    "SELECT v.id, v.contact_id, v.status, v.assignee_id, v.deleted_at IS NOT NULL AS deleted"
    " FROM conversation v JOIN unnest($1::int[], $2::int[]) AS k(app_id, contact_id)"
    " ON v.app_id = k.app_id AND v.contact_id = k.contact_id"
    " ORDER BY v.id FOR UPDATE OF v"
)

# Parameters: accounts, apps, contacts, now.
INSERT_CONVERSATIONS = (
    "INSERT INTO conversation (account_id, app_id, contact_id, status, version, created_at)"
    " SELECT k.account_id, k.app_id, k.contact_id, 'OPEN', 0, $4::timestamptz"
    " FROM unnest($1::int[], $2::int[], $3::int[]) AS k(account_id, app_id, contact_id)"
    " ORDER BY k.app_id, k.contact_id"
    " ON CONFLICT (app_id, contact_id) DO NOTHING"
    " RETURNING id, contact_id"
)

# The messages placed in their conversations with their senders' names; the conversations opened
# (R-REOPEN), brought back (R-DELETE: unassigned, a new created_at) and carrying their last message.
# Parameters: conversations, last messages, their texts, brought back?, reopened?, now; messages,
# their conversations, sender names; unassigned (reopened, its assignee deactivated: R-ADMIN)?
PLACE_INBOUND_MESSAGES = (
    "WITH placed AS (UPDATE message m SET conversation_id = p.conversation_id, sender_name = p.sender_name"
    " FROM unnest($7::int[], $8::int[], $9::varchar[]) AS p(id, conversation_id, sender_name) WHERE m.id = p.id)"
    " UPDATE conversation c SET status = 'OPEN', deleted_at = NULL,"
    " assignee_id = CASE WHEN u.back OR u.unassigned THEN NULL ELSE c.assignee_id END,"
    " version = c.version + CASE WHEN u.back OR u.reopened THEN 1 ELSE 0 END,"
    " created_at = CASE WHEN u.back THEN $6::timestamptz ELSE c.created_at END,"
    " last_message_id = u.message_id, last_message_at = $6::timestamptz, last_message_text = u.text,"
    " last_message_direction = 'INBOUND', last_inbound_at = $6::timestamptz"
    " FROM unnest($1::int[], $2::int[], $3::text[], $4::bool[], $5::bool[], $10::bool[])"
    " AS u(id, message_id, text, back, reopened, unassigned)"
    " WHERE c.id = u.id"
)

# R-ADMIN: which of the assignees of reopening conversations are ACTIVE, read FOR SHARE (as
# resolvers/admin.holds_active) so a deactivation committing meanwhile waits for this batch.
# Parameter: users.
ACTIVE_USERS = "SELECT id FROM \"user\" WHERE id = ANY($1::int[]) AND status = 'ACTIVE' ORDER BY id FOR SHARE"

# R-NOTE: which of these conversations are linked at all. Parameter: conversations.
LINKED_CONVERSATIONS = "SELECT DISTINCT conversation_id FROM conversation_link WHERE conversation_id = ANY($1::int[])"

# MEMBERS_NOTIFICATION_SETTINGS for several apps. Parameter: apps.
APPS_MEMBERS_NOTIFICATION_SETTINGS = (
    "SELECT a.app_id, a.user_id, s.kind, s.desktop, s.email FROM app_access a"
    " JOIN \"user\" u ON u.id = a.user_id AND u.status = 'ACTIVE'"  # deactivated users are told nothing (R-ADMIN)
    " LEFT JOIN notification_setting s ON s.user_id = a.user_id WHERE a.app_id = ANY($1::int[])"
)

# The notification rows (R-NOTIFY) and the events, their ids drawn under the EVENT_ORDER lock in the
# given order (as INSERT_EVENT_IN_ORDER), in one statement: the last of a batch, so the lock is held
# only until the COMMIT that follows. Rows: ("event", id, null) and ("notification", id, user).
# Parameters: events' accounts, apps, conversations, messages, types, now, lock; notifications'
# accounts, users, apps, kinds, conversations, messages.
INSERT_NOTIFICATIONS_AND_EVENTS = (
    "WITH notified AS ("
    "INSERT INTO notification (account_id, user_id, app_id, kind, conversation_id, message_id, created_at)"
    " SELECT n.account_id, n.user_id, n.app_id, n.kind, n.conversation_id, n.message_id, $6::timestamptz"
    " FROM unnest($8::int[], $9::int[], $10::int[], $11::varchar[], $12::int[], $13::int[])"
    " AS n(account_id, user_id, app_id, kind, conversation_id, message_id)"
    " RETURNING id, user_id),"
    " recorded AS ("
    "INSERT INTO inbox_event (account_id, app_id, conversation_id, message_id, type, occurred_at)"
    " SELECT e.account_id, e.app_id, e.conversation_id, e.message_id, e.type, $6::timestamptz"
    " FROM pg_advisory_xact_lock($7),"
    " unnest($1::int[], $2::int[], $3::int[], $4::int[], $5::varchar[]) WITH ORDINALITY"
    " AS e(account_id, app_id, conversation_id, message_id, type, n)"
    " ORDER BY e.n RETURNING id)"
    " SELECT 'event' AS kind, id, NULL::int AS user_id FROM recorded"
    " UNION ALL SELECT 'notification', id, user_id FROM notified"
)
