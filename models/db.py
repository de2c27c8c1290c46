"""Database set-up: the Tortoise configuration, start-up, migrations and the connection probe."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate as run_migrations

MODELS_MODULE = "models"
MIGRATIONS_MODULE = "models.migrations"


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": _connection_url(database_url)},
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


def _connection_url(database_url: str) -> str:
    if database_url.startswith("postgresql://"):
        return "postgres://" + database_url.removeprefix("postgresql://")
    return database_url


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
