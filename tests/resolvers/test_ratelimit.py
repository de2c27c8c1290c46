"""R-SIGNIN's failure counters in Redis: shared by every process, whichever one the failures reach."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from resolvers.signin import set_password
from settings import Settings, use_settings
from tests.processes import command_env, switchboard
from tests.resolvers.test_signin import ANA, PASSWORD, SIGN_IN, error_of, sign_in_from
from tests.support import Api


@pytest.fixture
def redis_settings(test_settings: Settings, redis_url: str) -> Iterator[Settings]:
    """The counters in the test Redis, under a channel (a key prefix) of this test alone."""
    settings = replace(test_settings, redis_url=redis_url, redis_channel=f"sb-test-{secrets.token_hex(6)}")
    use_settings(settings)
    yield settings
    use_settings(test_settings)


async def test_r_signin_failures_are_counted_in_redis_when_it_is_configured(api: Api, redis_settings: Settings) -> None:
    await api.create_account()
    await set_password(ANA, PASSWORD)

    codes = [
        error_of(await sign_in_from(api, f"192.0.2.{n + 1}", ANA, "wrong password!"))["extensions"] for n in range(12)
    ]

    limit = redis_settings.sign_in_failures_per_email
    assert [c["code"] for c in codes] == ["UNAUTHENTICATED"] * limit + ["RATE_LIMITED"] * (12 - limit)
    assert 0 < codes[-1]["retryAfter"] <= redis_settings.sign_in_window_seconds


async def test_r_signin_50_failures_from_one_address_across_two_processes_are_limited_together(
    api: Api, redis_settings: Settings, database: str, tmp_path: Path
) -> None:
    # given this process and a `switchboard serve` process on one database and one Redis
    await api.create_account()
    await set_password(ANA, PASSWORD)
    env = command_env(database, REDIS_URL=str(redis_settings.redis_url), REDIS_CHANNEL=redis_settings.redis_channel)
    env["SECRET_KEY"] = "test-secret-key"
    with switchboard("serve", env=env, cwd=tmp_path) as other:
        codes = []
        async with httpx.AsyncClient(base_url=other.url, timeout=30) as there:
            # when one address (127.0.0.1) fails 50 times, alternating between the processes
            for attempt in range(50):
                variables = {"e": f"guess{attempt}@acme.test", "p": "wrong password!"}
                if attempt % 2:
                    response = await there.post("/graphql", json={"query": SIGN_IN, "variables": variables})
                    body = response.json()
                else:
                    body = await sign_in_from(api, "127.0.0.1", variables["e"], variables["p"])
                codes.append(error_of(body)["extensions"]["code"])

    # then both count toward the one limit
    limit = redis_settings.sign_in_failures_per_address
    assert codes == ["UNAUTHENTICATED"] * limit + ["RATE_LIMITED"] * (50 - limit)
