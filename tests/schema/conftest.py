"""The app in production mode (SWITCHBOARD_ENV=production), for what differs there."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from resolvers.clock import ManualClock
from settings import Settings
from tests.support import Api


@pytest.fixture
async def production_api(db: str, clock: ManualClock, test_settings: Settings) -> AsyncIterator[Api]:
    from app import create_app

    settings = dataclasses.replace(test_settings, env="production")
    async with Api(create_app(settings, clock=clock, manage_database=False)) as client:
        yield client
    create_app(test_settings, clock=clock, manage_database=False)  # back to the session's settings
