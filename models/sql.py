"""Hand-written SQL, the one test of which database we are on, and the advisory lock keys.

A statement is written here only where building it through the ORM costs more CPU than the
database spends on it (the inbound path). Parameters are written `$1`, `$2` … in the order they
appear; `fetch` hands them to SQLite as `?`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from enum import IntEnum, StrEnum
from typing import Any, TypeVar

from tortoise import connections
from tortoise.models import Model

from models.accounts import User


class Dialect(StrEnum):
    POSTGRES = "postgres"
    SQLITE = "sqlite"


_DIALECTS = {dialect.value: dialect for dialect in Dialect}


def dialect() -> Dialect:
    """The database of the default connection."""
    return _DIALECTS[connections.get("default").capabilities.dialect]


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


async def fetch(statement: str, *values: Any) -> list[dict[str, Any]]:
    """Rows of `statement` on the current connection (the transaction's, inside one)."""
    parameters = list(values)
    if dialect() != Dialect.POSTGRES:
        statement, parameters = _for_sqlite(statement, values)
    rows: list[dict[str, Any]] = await connections.get("default").execute_query_dict(statement, parameters)
    return rows


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


def instances(model: type[M], rows: list[dict[str, Any]]) -> list[M]:
    """Rows read with `select_list(model, …)` as models, converted as the ORM converts its own reads."""
    make = model._init_from_db
    return [make(**row) for row in rows]


def joined(model: type[M], rows: list[dict[str, Any]], related: dict[str, type[Model]]) -> list[M]:
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


async def rows_by_id(model: type[M], ids: Collection[int]) -> list[M]:
    """The rows of these ids, in no order (what the request's loaders batch)."""
    table = model._meta.db_table
    statement = f'SELECT {select_list(model, "t")} FROM "{table}" t WHERE t."id" = ANY($1::int[])'
    return instances(model, await fetch(statement, list(ids)))


def viewer_of_token() -> str:
    """The ACTIVE user ($2) owning the token of digest $1: on every request, where the ORM's form of
    this join costs several times the CPU the database spends on it."""
    return (
        f'SELECT {select_list(User, "u")} FROM api_token t JOIN "user" u ON u."id" = t."user_id"'
        ' WHERE t."digest" = $1 AND u."status" = $2 LIMIT 1'
    )


# The apps shared with a user ($1): on every request.
APP_IDS_OF_USER = 'SELECT "app_id" FROM app_access WHERE "user_id" = $1'
