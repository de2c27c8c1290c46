"""Real servers for real-time tests: uvicorn on a free 127.0.0.1 port inside the test's event loop,
on the in-memory broker or on the Redis of SWITCHBOARD_TEST_REDIS_URL (one channel per session)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from settings import Settings
from tests.conftest import REDIS_URL, require
from tests.subscriptions.support import Server, serving
from tests.support import Api

SESSION_CHANNEL = f"sb-test-{os.getpid()}-{secrets.token_hex(4)}:events"
ALLOWED_ORIGIN = "https://app.example.test"


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
    async with serving(server_settings) as running:
        yield running
