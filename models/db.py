"""Database set-up: the Tortoise configuration, start-up, migrations, the connection probe, and telling
a refused value from a database that cannot be reached."""

from __future__ import annotations

from typing import Any

import asyncpg
from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import ValidationError
from tortoise.migrations.api import migrate as run_migrations

MODELS_MODULE = "models"
MIGRATIONS_MODULE = "models.migrations"
PG_ENGINE = "models.pg"


class PooledConnection(asyncpg.Connection):  # type: ignore[misc]  # asyncpg ships no types
    """asyncpg's connection, released to the pool without its reset statement (advisory locks
    unlocked, `CLOSE ALL; UNLISTEN *; RESET ALL`): one more round trip after every
    statement run outside a transaction, ~5% of the server's CPU while fanning out (the mutation's,
    the render's and the hub's reads; docs/benchmarks.md). Nothing here leaves session state behind:
    advisory locks are transaction-scoped (models/sql.AdvisoryLock), and there are no cursors outside
    transactions, no LISTEN, no SET. An open transaction is still rolled back on release (asyncpg)."""

    def get_reset_query(self) -> str:
        return ""


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(database_url)},
        "apps": {
            "models": {
                "models": [MODELS_MODULE],
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection(database_url: str) -> str | dict[str, Any]:
    """SQLite by its URL; PostgreSQL through models/pg.py's client (one connection per request) with
    connections released without asyncpg's reset (`PooledConnection`)."""
    if database_url.startswith("postgresql://"):
        database_url = "postgres://" + database_url.removeprefix("postgresql://")
    if not database_url.startswith("postgres://"):
        return database_url
    connection = {**expand_db_url(database_url), "engine": PG_ENGINE}
    connection["credentials"]["connection_class"] = PooledConnection
    return connection


async def migrate(database_url: str) -> None:
    """Applies every pending migration. Safe to run again."""
    await run_migrations(config=tortoise_config(database_url))
    await Tortoise.close_connections()


async def open_database(database_url: str) -> None:
    # The ASGI lifespan runs in its own task; requests run in others: without the global fallback
    # Tortoise 1.x keeps the connections in the lifespan task's context and every request fails.
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close_database() -> None:
    await Tortoise.close_connections()


async def ping() -> bool:
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:
        return False
    return True


# What a database (or Tortoise before it) raises about a value, not about the connection: PostgreSQL's
# class 22 (string too long, invalid text, number out of range, a NUL in jsonb), a value the driver
# cannot encode (asyncpg and sqlite3 raise UnicodeEncodeError, asyncpg wrapped in its own DataError),
# and Tortoise's field checks (max_length). Tortoise wraps the first in OperationalError, which also
# stands for "cannot reach the database": only the chain of causes tells them apart.
REFUSED_VALUE: tuple[type[Exception], ...] = (asyncpg.DataError, UnicodeEncodeError, ValidationError)


def refused_value(error: BaseException) -> bool:
    """Whether `error` means the database refused a value it was given (the input is at fault)."""
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, REFUSED_VALUE):
            return True
        seen = seen.__cause__
    return False
