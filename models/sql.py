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


# R-IDEMPOTENT's check on every delivery: the ORM's form costs twice the CPU.
MESSAGE_DELIVERED = "SELECT 1 FROM message WHERE app_id = $1 AND provider_message_id = $2"

# On every inbound message: the ORM's form of this join costs three times the CPU.
MEMBERS_NOTIFICATION_SETTINGS = (
    "SELECT a.user_id, s.kind, s.desktop, s.email FROM app_access a"
    " LEFT JOIN notification_setting s ON s.user_id = a.user_id WHERE a.app_id = $1"
)

# Who a token belongs to, on every HTTP request and WebSocket connect: the ORM's form (a filter
# across the relation and select_related) costs about four times the CPU. Parameters: digest, status.
USER_OF_TOKEN = 'SELECT u.* FROM api_token t JOIN "user" u ON u.id = t.user_id WHERE t.digest = $1 AND u.status = $2'

# PostgreSQL only. Of the (token digest, user id, role) that open WebSockets were accepted with, those
# no longer granted (token gone, user not ACTIVE or in another role): every second, for every open
# socket, so the arrays go whole as three parameters and only the few lost come back.
# Parameters: digests, user ids, roles, status.
RIGHTS_LOST = (
    "SELECT g.digest, g.user_id, g.role FROM unnest($1::varchar[], $2::int[], $3::varchar[]) AS g(digest, user_id, role)"
    ' WHERE NOT EXISTS (SELECT 1 FROM api_token t JOIN "user" u ON u.id = t.user_id'
    " WHERE t.digest = g.digest AND u.id = g.user_id AND u.role = g.role AND u.status = $4)"
)

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
