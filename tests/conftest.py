"""Shared fixtures: a real database per backend (SQLite and PostgreSQL), a manual clock, API clients,
the app wired to fake providers (`inbox`), and the app served for real-time tests (`server`).

PostgreSQL runs where SWITCHBOARD_TEST_POSTGRES_URL is set (under CI=true it must be); each test
session gets its own database, so parallel runs never share rows. Real-time tests run on the
in-memory broker and on the Redis of SWITCHBOARD_TEST_REDIS_URL (one channel per session).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import asyncpg
import pytest
from tortoise import Tortoise, connections
from tortoise.backends.base.executor import EXECUTOR_CACHE

from models.db import migrate, open_database
from models.sql import Dialect, dialect
from resolvers.clock import ManualClock, SystemClock, use_clock
from settings import Settings, use_settings
from tests.files_support import s3_bucket, s3_server  # noqa: F401 (fixtures)
from tests.provider_support import fake_graph, fake_twilio, inbox  # noqa: F401 (fixtures)
from tests.realtime_support import ALLOWED_ORIGIN, SESSION_CHANNEL, Server, serving
from tests.support import Api

POSTGRES_URL = os.environ.get("SWITCHBOARD_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("SWITCHBOARD_TEST_REDIS_URL")
IN_CI = os.environ.get("CI") == "true"


def require(url: str | None, name: str) -> None:
    if url:
        return
    if IN_CI:
        pytest.fail(f"{name} is not set: CI must test against the real service")
    pytest.skip(f"{name} is not set; the real-service variant is skipped")


def _swap_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def test_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        public_base_url="https://inbox.example.test",
        secret_key="test-secret-key",
        env="development",
        files_dir=str(tmp_path_factory.mktemp("files")),
        file_copy_seconds=0,  # tests copy inbound media and sweep by hand (tests/files_support.py)
        template_sync_seconds=0,  # tests that want the periodic sync turn it on
        executor=Settings.from_env().executor,  # SWITCHBOARD_EXECUTOR=reference runs the suite on graphql-core
    )


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, test_settings: Settings
) -> AsyncIterator[str]:
    """A migrated database for the whole session; yields its URL. Tests get it emptied by `db`."""
    use_settings(test_settings)
    if request.param == "sqlite":
        url = f"sqlite://{Path(tmp_path_factory.mktemp('db')) / 'switchboard.db'}"
        drop = None
    else:
        require(POSTGRES_URL, "SWITCHBOARD_TEST_POSTGRES_URL")
        name = f"sb_test_{os.getpid()}_{secrets.token_hex(3)}"
        admin = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://", 1))
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = _swap_database(POSTGRES_URL, name)
        drop = name
    EXECUTOR_CACHE.clear()  # statements are cached per connection name, which both backends share
    await migrate(url)
    await open_database(url)
    try:
        yield url
    finally:
        await Tortoise.close_connections()
        if drop:
            admin = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://", 1))
            await admin.execute(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')
            await admin.close()


async def empty_all_tables() -> None:
    connection = connections.get("default")
    tables = [model._meta.db_table for model in Tortoise.apps["models"].values()]
    if dialect() == Dialect.POSTGRES:
        quoted = ", ".join(f'"{table}"' for table in tables)
        await connection.execute_script(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
    else:
        await connection.execute_script("PRAGMA foreign_keys = OFF")
        for table in tables:
            await connection.execute_script(f'DELETE FROM "{table}"')
        await connection.execute_script("PRAGMA foreign_keys = ON")


@pytest.fixture
async def db(database: str) -> AsyncIterator[str]:
    """An empty database of each backend; yields the backend's dialect ("sqlite" or "postgres")."""
    await empty_all_tables()
    yield dialect()


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    manual = ManualClock()
    use_clock(manual)
    yield manual
    use_clock(SystemClock())


@pytest.fixture
async def api(db: str, clock: ManualClock, test_settings: Settings) -> AsyncIterator[Api]:
    """The ASGI app in-process, on the test database, with the manual clock."""
    from app import create_app

    async with Api(create_app(test_settings, clock=clock, manage_database=False)) as client:
        yield client


# ---- the app served over HTTP + WebSocket (tests/realtime_support.py)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def broker_url(request: pytest.FixtureRequest) -> str | None:
    """None for the in-memory broker, else the test Redis."""
    if request.param == "memory":
        return None
    require(REDIS_URL, "SWITCHBOARD_TEST_REDIS_URL")
    return REDIS_URL


@pytest.fixture
def redis_url() -> str:
    require(REDIS_URL, "SWITCHBOARD_TEST_REDIS_URL")
    assert REDIS_URL
    return REDIS_URL


@pytest.fixture
def server_settings(test_settings: Settings, broker_url: str | None) -> Settings:
    return replace(
        test_settings,
        redis_url=broker_url,
        redis_channel=SESSION_CHANNEL,
        allowed_origins=[ALLOWED_ORIGIN],
        max_subscriptions_per_connection=3,
    )


@pytest.fixture
async def server(api: Api, server_settings: Settings) -> AsyncIterator[Server]:
    """The whole app served over HTTP + WebSocket, on the test database (emptied by `db`)."""
    async with serving(server_settings) as served:
        yield served
