"""The HTTP application around the schema: body-size limit, health and readiness probes, and the
settings it refuses to start with."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator

import pytest

from models import Message
from resolvers.clock import ManualClock
from settings import Settings
from tests.support import Api

LIMIT = 4_096


@pytest.fixture
async def small_api(db: str, clock: ManualClock, test_settings: Settings) -> AsyncIterator[Api]:
    """The app with a small MAX_BODY_BYTES, so an oversized body stays cheap to send."""
    from app import create_app

    async with Api(create_app(dataclasses.replace(test_settings, max_body_bytes=LIMIT), clock=clock, manage_database=False)) as client:
        yield client
    create_app(test_settings, clock=clock, manage_database=False)


def _oversized_mutation() -> bytes:
    padding = "x" * LIMIT
    return json.dumps({"query": f'mutation {{ setAvailability(available: false) {{ id }} }} # {padding}'}).encode()


async def _chunks(body: bytes, size: int = 1_000) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_a_body_over_the_limit_with_a_declared_length_gets_413(small_api: Api) -> None:
    admin = await small_api.create_account()
    body = _oversized_mutation()

    response = await small_api.http.post(
        "/graphql", content=body, headers={"Content-Type": "application/json", "Authorization": f"Bearer {admin.token}"}
    )

    assert response.status_code == 413
    assert await small_api.data("{ viewer { available } }", token=admin.token) == {"viewer": {"available": True}}


async def test_a_chunked_body_over_the_limit_gets_413_without_running(small_api: Api) -> None:
    admin = await small_api.create_account()

    response = await small_api.http.post(
        "/graphql",
        content=_chunks(_oversized_mutation()),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {admin.token}"},
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert await small_api.data("{ viewer { available } }", token=admin.token) == {"viewer": {"available": True}}


async def test_a_body_under_the_limit_is_served(small_api: Api) -> None:
    admin = await small_api.create_account()
    body = json.dumps({"query": "mutation { setAvailability(available: false) { available } }"}).encode()

    response = await small_api.http.post(
        "/graphql", content=_chunks(body, 10), headers={"Content-Type": "application/json", "Authorization": f"Bearer {admin.token}"}
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"setAvailability": {"available": False}}}


async def test_a_webhook_body_over_the_limit_gets_413_and_stores_nothing(small_api: Api) -> None:
    admin = await small_api.create_account()
    app = await small_api.install_api_app(admin)
    body = json.dumps({"messageId": "m1", "sender": {"id": "c1"}, "text": "x" * LIMIT}).encode()

    response = await app.post(body)

    assert response.status_code == 413
    assert await Message.all().count() == 0


async def test_a_non_numeric_content_length_gets_413(small_api: Api) -> None:
    response = await small_api.http.post("/graphql", content=b"{}", headers={"Content-Length": "abc"})
    assert response.status_code == 413


async def test_production_refuses_the_development_secret_key(test_settings: Settings) -> None:
    from app import create_app

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(Settings(env="production"), manage_database=False)
    create_app(test_settings, manage_database=False)


async def test_healthz_answers_without_the_database(api: Api) -> None:
    response = await api.http.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_answers_ready_when_the_database_is_reachable(api: Api) -> None:
    response = await api.http.get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ready"}
