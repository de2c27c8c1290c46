"""Hand-written SQL, the one test of which database we are on, and the advisory lock keys.

A statement is written here only where building it through the ORM costs more CPU than the
database spends on it (the inbound path). Parameters are written `$1`, `$2` … in the order they
appear; `fetch` hands them to SQLite as `?`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any, TypeVar

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base_postgres.client import translate_exceptions
from tortoise.models import Model

from models.accounts import ApiToken, User
from models.inbox import Conversation
from models.rows import read, reader


class Dialect(StrEnum):
    POSTGRES = "postgres"
    SQLITE = "sqlite"


_DIALECTS = {dialect.value: dialect for dialect in Dialect}


def dialect() -> Dialect:
    """The database of the default connection."""
    return dialect_of(connections.get("default"))


def dialect_of(client: BaseDBAsyncClient) -> Dialect:
    """The database of `client` (a migration's). A dict lookup, not `Dialect(…)`: it runs per statement."""
    return _DIALECTS[client.capabilities.dialect]


class AdvisoryLock(IntEnum):
    """Every PostgreSQL advisory lock key in use (transaction-scoped locks: `pg_advisory_xact_lock`)."""

    # Serialises the moment events are written, so event ids become visible in id order: a reader
    # resuming after id N can never later see a smaller id commit (no gap on replay).
    EVENT_ORDER = 0x5B1E_E7E7
    # With the account's id as second key (the two-key form, a key space apart from EVENT_ORDER's):
    # serialises the changes that could take an account's last active admin away (R-ADMIN).
    ACCOUNT_ADMINS = 0x5B1E_AD77
    # With the app's id as second key: serialises automatic assignment in an app (R-ROUTE), so two
    # arrivals on two processes never both take a user's last free slot nor the same turn.
    APP_ROUTING = 0x5B1E_2077


# Every webhook's app, read together for the webhooks arriving at the same moment (one round trip
# for all of them: providers/webhooks.py); the ORM's form costs several times the CPU. Every column:
# a whole row becomes a model at a third of the cost of a partial one (`instances`).
WEBHOOK_APPS = "SELECT * FROM messaging_app WHERE id = ANY($1::int[])"
WEBHOOK_APP = "SELECT * FROM messaging_app WHERE id = $1"  # SQLite has no arrays: one app a statement

# The real-time hub's read of the events committed since its position (subscriptions/hub.py), once a
# batch of webhooks or a change is announced: the ORM's form costs several times the CPU.
EVENTS_AFTER = "SELECT * FROM inbox_event WHERE id > $1 ORDER BY id LIMIT $2"

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

# R-ROUTE: of some apps, those not MANUAL, in id order (no lock: each is read again under its lock).
# On every batch of webhooks and every change that may route (a reopen, a close): the ORM's form
# costs several times the CPU.
ROUTED_APPS = "SELECT id FROM messaging_app WHERE id = ANY($1::int[]) AND assignment_mode <> 'MANUAL' ORDER BY id"

# PostgreSQL only. Parameters: AdvisoryLock.APP_ROUTING, the app's id (R-ROUTE).
LOCK_APP_ROUTING = "SELECT pg_advisory_xact_lock($1::int, $2::int)"

# R-ROUTE: who may be given an app's conversation automatically (access, ACTIVE, available) with how
# many open conversations each holds in the app, in id order. The count is read from the partial
# index ix_conversation_open_load (migration 0011), not kept in a counter. Parameters: the app, twice.
ROUTING_CANDIDATES = (
    "SELECT u.id, (SELECT count(*) FROM conversation c WHERE c.app_id = $1 AND c.assignee_id = u.id"
    " AND c.status = 'OPEN' AND c.assignee_id IS NOT NULL AND c.deleted_at IS NULL) AS open"
    ' FROM app_access a JOIN "user" u ON u.id = a.user_id'
    " WHERE a.app_id = $2 AND u.status = 'ACTIVE' AND u.available ORDER BY u.id"
)
# On PostgreSQL the candidates are read FOR SHARE, as `holds_active` does (R-ADMIN): a deactivation
# or an availability change committing meanwhile waits for the assignment, then sees it.
FOR_SHARE_OF_USERS = " FOR SHARE OF u"

# The user row if they are ACTIVE (R-ADMIN), and with AND_AVAILABLE if they may be given a conversation
# (R-AVAIL). Read FOR SHARE on PostgreSQL (resolvers/admin.holds_active), the row stays so until commit.
ACTIVE_USER = "SELECT id FROM \"user\" WHERE id = $1 AND status = 'ACTIVE'"
AND_AVAILABLE = " AND available"

# PostgreSQL only. Of the (token digest, user id, role) that open WebSockets were accepted with, those
# no longer granted (token gone or expired, user not ACTIVE or in another role): every second, for
# every open socket, so the arrays go whole as three parameters and only the few lost come back.
# Parameters: digests, user ids, roles, status, now.
RIGHTS_LOST = (
    "SELECT g.digest, g.user_id, g.role FROM unnest($1::varchar[], $2::int[], $3::varchar[]) AS g(digest, user_id, role)"
    ' WHERE NOT EXISTS (SELECT 1 FROM api_token t JOIN "user" u ON u.id = t.user_id'
    " WHERE t.digest = g.digest AND u.id = g.user_id AND u.role = g.role AND u.status = $4"
    " AND (t.expires_at IS NULL OR t.expires_at > $5))"
)

# PostgreSQL only. Takes the EVENT_ORDER lock in the statement that draws the event's id (one round
# trip on every change); taking it again for a second event of the same transaction is harmless
# (it is re-entrant). Parameters: account, app, conversation, message, actor, type, occurred_at, lock.
INSERT_EVENT_IN_ORDER = (
    "INSERT INTO inbox_event (account_id, app_id, conversation_id, message_id, actor_id, type, occurred_at)"
    " SELECT $1::int, $2::int, $3::int, $4::int, $5::int, $6::varchar, $7::timestamptz"
    " FROM pg_advisory_xact_lock($8) RETURNING id"
)

# A parameter: `$n`, or `= ANY($n::int[])` (a list of ids), which SQLite is sent as `IN (?, …)`.
_PARAMETER = re.compile(r"= ANY\(\$(\d+)::int\[\]\)|\$(\d+)")


# A fetched row: asyncpg's Record on PostgreSQL (read by name, as is: no dict made per row), a dict on SQLite.
Record = Mapping[str, Any]


async def fetch(statement: str, *values: Any) -> list[Record]:
    """Rows of `statement` on the current connection (the transaction's, inside one)."""
    client = connections.get("default")
    if dialect_of(client) == Dialect.POSTGRES:
        records: list[Record] = await _records(client, statement, values)
        return records
    statement, parameters = _for_sqlite(statement, values)
    rows: list[Record] = await client.execute_query_dict(statement, parameters)
    return rows


@translate_exceptions  # the ORM's errors (IntegrityError, OperationalError), as execute_query_dict raises them
async def _records(client: BaseDBAsyncClient, statement: str, values: tuple[Any, ...]) -> list[Record]:
    async with client.acquire_connection() as connection:
        client.log.debug("%s: %s", statement, values)  # as the ORM logs each statement (tests count them)
        rows: list[Record] = await connection.fetch(statement, *values)  # asyncpg is untyped
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


def _for_sqlite(statement: str, values: tuple[Any, ...]) -> tuple[str, list[Any]]:
    flat: list[Any] = []

    def one(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            items = list(values[int(match.group(1)) - 1])
            flat.extend(items)
            return "IN (" + ",".join("?" * len(items)) + ")"
        flat.append(values[int(match.group(2)) - 1])
        return "?"

    return _PARAMETER.sub(one, statement), flat


# ---- rows as models, without the ORM building the statement

M = TypeVar("M", bound=Model)

_COLUMNS: dict[type[Model], tuple[str, ...]] = {}


def columns_of(model: type[Model]) -> tuple[str, ...]:
    """`model`'s columns (read once Tortoise is initialised: foreign keys' columns are added then)."""
    found = _COLUMNS.get(model)
    if found is None:
        found = _COLUMNS[model] = tuple(model._meta.fields_db_projection.values())
    return found


def select_list(model: type[Model], alias: str, prefix: str | None = None) -> str:
    """The select list of `model`'s columns from the table aliased `alias`; with a prefix each column
    is named `prefix.column`, which `joined` reads back as a related row."""
    if prefix is None:
        return ", ".join(f'{alias}."{column}"' for column in columns_of(model))
    return ", ".join(f'{alias}."{column}" AS "{prefix}.{column}"' for column in columns_of(model))


def instances(model: type[M], rows: list[Record]) -> list[M]:
    """Rows of `model`'s columns (`select_list(model, …)` or `SELECT *`) as models, converted as the
    ORM converts its own reads."""
    make = model._init_from_db
    return [make(**row) for row in rows]


def joined(model: type[M], rows: list[Record], related: dict[str, type[Model]]) -> list[M]:
    """Like `instances`, each with its related rows (read with `select_list(other, alias, name)`) set
    where `select_related(name)` sets them: None where the join found no row."""
    own = columns_of(model)
    plans = [
        (f"_{name}", f"{name}.id", other, [(column, f"{name}.{column}") for column in columns_of(other)])
        for name, other in related.items()
    ]
    made: list[M] = []
    for row in rows:
        instance = model._init_from_db(**{column: row[column] for column in own})
        for attribute, key, other, names in plans:
            value = None if row[key] is None else other._init_from_db(**{column: row[name] for column, name in names})
            object.__setattr__(instance, attribute, value)
        made.append(instance)
    return made


def joined_rows(model: type[M], records: list[Record], related: dict[str, type[Model]]) -> list[M]:
    """`joined` as rows for display (models/rows.py), each related row in `_<name>`: no model built."""
    kind = dialect().value
    make = reader(model, kind)
    plans = [(f"_{name}", f"{name}.id", reader(other, kind, f"{name}.")) for name, other in related.items()]
    made: list[M] = []
    for record in records:
        row = make(record)
        for attribute, key, other in plans:
            setattr(row, attribute, None if record[key] is None else other(record))
        made.append(row)
    return made


async def rows_by_id(model: type[M], ids: Collection[int]) -> list[M]:
    """The rows of these ids, in no order, as rows for display (what the request's loaders batch)."""
    table = model._meta.db_table
    statement = f'SELECT {select_list(model, "t")} FROM "{table}" t WHERE t."id" = ANY($1::int[])'
    return read(model, dialect().value, await fetch(statement, list(ids)))


def one_conversation(where: str, *, for_update: bool = False) -> str:
    """The conversation (aliased `c`) that `where` names, for `instances(Conversation, …)`: on every
    mutation of a conversation (resolvers/access.require_conversation), where the ORM's form costs
    several times the CPU. `for_update` takes its row lock on PostgreSQL (SQLite has none)."""
    lock = " FOR UPDATE" if for_update and dialect() == Dialect.POSTGRES else ""
    return f"SELECT {select_list(Conversation, 'c')} FROM conversation c WHERE {where} LIMIT 1{lock}"


def viewer_of_token() -> str:
    """The token of digest $1 with its user (`joined(ApiToken, rows, {"user": User})`) when the user is
    ACTIVE ($2): on every request, where the ORM's form of this join costs several times the CPU the
    database spends on it. Whether a session has expired is read from the row (resolvers/viewer.py)."""
    return (
        f"SELECT {select_list(ApiToken, 't')}, {select_list(User, 'u', 'user')}"
        ' FROM api_token t JOIN "user" u ON u."id" = t."user_id" WHERE t."digest" = $1 AND u."status" = $2 LIMIT 1'
    )


# The apps shared with a user ($1): on every request.
APP_IDS_OF_USER = 'SELECT "app_id" FROM app_access WHERE "user_id" = $1'
# The users an app ($1) is shared with: on every real-time event. On PostgreSQL as one array (decoded
# in C: 0.2 ms for 1,000 members, against 1.5 ms as rows and more through the ORM's `values_list`);
# SQLite has no arrays: a row each.
USER_IDS_OF_APP = 'SELECT "user_id" FROM app_access WHERE "app_id" = $1'
USER_ID_ARRAY_OF_APP = 'SELECT array_agg("user_id") AS user_ids FROM app_access WHERE "app_id" = $1'
# ---- R-SEARCH: a page of hits of each tier (resolvers/search.py ranks them and reads the cursors)


class _Statement:
    """A search statement being written, its values inlined as constants: the planner must see them
    (a rare word is read from the index, a common one backwards by id) and a prepared statement's
    cached generic plan would not. Only integers and strings of letters, digits, spaces, `%` and
    `&` are taken, so a value can never close its quotes."""

    def param(self, value: int | str) -> str:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError(value)
        if isinstance(value, int):
            return str(int(value))
        if not _SAFE_TEXT.fullmatch(value):
            raise ValueError("not a search of words")
        return f"'{value}'"

    def params(self, values: list[int]) -> str:
        return ", ".join(self.param(value) for value in values)


_SAFE_TEXT = re.compile(r"[\w %&]*")


def _digits_only(column: str, postgres: bool) -> str:
    """`column` without separators, so a phone number's digits run together. SQLite has no
    regexp_replace: the separators phone numbers are written with are removed one by one."""
    if postgres:
        return f"regexp_replace({column}, '[^0-9]', '', 'g')"  # the expression of ix_contact_phone_trgm
    for character in "+ -().:/":
        column = f"replace({column}, '{character}', '')"
    return column


@dataclass(frozen=True)
class Search:
    """One search's terms, in the viewer's apps. `name_patterns` are LIKE patterns of folded words (letters
    and digits only), `phone_pattern` one of digits; `fts_query` is in the database's own FTS syntax."""

    account_id: int
    app_ids: list[int]
    name_patterns: list[str]
    phone_pattern: str | None
    fts_query: str

    def _contact_matches(self, s: _Statement, postgres: bool) -> str:
        # the expression of ix_contact_name_trgm (migration 0012) on PostgreSQL
        name = "lower(sb_unaccent(k.name))" if postgres else "lower(k.name)"
        words = " AND ".join(f"{name} LIKE {s.param(pattern)}" for pattern in self.name_patterns)
        condition = f"(k.name IS NOT NULL AND {words})"
        if self.phone_pattern:
            phone = _digits_only("k.external_id", postgres)
            condition = f"({condition} OR {phone} LIKE {s.param(self.phone_pattern)})"
        return condition

    def _visible(self, s: _Statement, alias: str) -> str:
        return f"{alias}.account_id = {s.param(self.account_id)} AND {alias}.app_id IN ({s.params(self.app_ids)})"

    def contact_hits(self, after: tuple[int, int] | None, limit: int) -> str:
        """Live conversations whose contact matches, by (last message id, id) descending, after `after`.
        Rows: conversation_id, sort_key. Returns the statement, for `fetch`."""
        s = _Statement()
        key = "coalesce(c.last_message_id, 0)"
        statement = (
            f"SELECT c.id AS conversation_id, {key} AS sort_key FROM conversation c JOIN contact k ON k.id = c.contact_id"
            f" WHERE {self._visible(s, 'c')} AND c.deleted_at IS NULL"
            f" AND {self._contact_matches(s, dialect() == Dialect.POSTGRES)}"
        )
        if after:
            statement += f" AND ({key}, c.id) < ({s.param(after[0])}, {s.param(after[1])})"
        statement += f" ORDER BY sort_key DESC, c.id DESC LIMIT {s.param(limit)}"
        return statement

    def message_hits(self, before: int | None, limit: int) -> str:
        """Per live conversation whose contact does not match, its newest matching message, newest
        first, older than `before`. Rows: message_id, conversation_id."""
        s = _Statement()
        if dialect() == Dialect.POSTGRES:
            # Read backwards by id (a common word) or from the GIN index (a rare one): the planner
            # chooses. NOT EXISTS keeps each conversation's newest match only.
            matches = f"{{}}.search_document @@ to_tsquery('simple', {s.param(self.fts_query)})"
            statement = (
                "SELECT m.id AS message_id, m.conversation_id FROM message m"
                " JOIN conversation c ON c.id = m.conversation_id JOIN contact k ON k.id = c.contact_id"
                f" WHERE {self._visible(s, 'm')} AND m.conversation_id IS NOT NULL"
                f" AND {matches.format('m')} AND c.deleted_at IS NULL"
                f" AND NOT {self._contact_matches(s, True)}"
                " AND NOT EXISTS (SELECT 1 FROM message n WHERE n.conversation_id = m.conversation_id"
                f" AND n.id > m.id AND {matches.format('n')})"
            )
            if before is not None:
                statement += f" AND m.id < {s.param(before)}"
            statement += f" ORDER BY m.id DESC LIMIT {s.param(limit)}"
        else:
            statement = (
                "SELECT max(m.id) AS message_id, m.conversation_id FROM message_search"
                " JOIN message m ON m.id = message_search.rowid"
                " JOIN conversation c ON c.id = m.conversation_id JOIN contact k ON k.id = c.contact_id"
                f" WHERE message_search MATCH {s.param(self.fts_query)} AND {self._visible(s, 'm')}"
                f" AND m.conversation_id IS NOT NULL AND c.deleted_at IS NULL AND NOT {self._contact_matches(s, False)}"
                " GROUP BY m.conversation_id"
            )
            if before is not None:
                statement += f" HAVING max(m.id) < {s.param(before)}"
            statement += f" ORDER BY message_id DESC LIMIT {s.param(limit)}"
        return statement
