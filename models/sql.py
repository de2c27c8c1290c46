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
