"""Hand-written SQL, the one test of which database we are on, and the advisory lock keys.

A statement is written here only where building it through the ORM costs more CPU than the
database spends on it (the inbound path). Parameters are written `$1`, `$2` … in the order they
appear; `fetch` hands them to SQLite as `?`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient


class Dialect(StrEnum):
    POSTGRES = "postgres"
    SQLITE = "sqlite"


def dialect() -> Dialect:
    """The database of the default connection."""
    return dialect_of(connections.get("default"))


def dialect_of(client: BaseDBAsyncClient) -> Dialect:
    """The database of `client` (a migration's)."""
    return Dialect(client.capabilities.dialect)


class AdvisoryLock(IntEnum):
    """Every PostgreSQL advisory lock key in use (transaction-scoped locks: `pg_advisory_xact_lock`)."""

    # Serialises the moment events are written, so event ids become visible in id order: a reader
    # resuming after id N can never later see a smaller id commit (no gap on replay).
    EVENT_ORDER = 0x5B1E_E7E7
    # With the account's id as second key (the two-key form, a key space apart from EVENT_ORDER's):
    # serialises the changes that could take an account's last active admin away (R-ADMIN).
    ACCOUNT_ADMINS = 0x5B1E_AD77


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
