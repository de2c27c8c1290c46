"""The HTTP application around the schema: body-size limit, health and readiness probes, and the
settings it refuses to start with."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

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

    async with Api(
        create_app(dataclasses.replace(test_settings, max_body_bytes=LIMIT), clock=clock, manage_database=False)
    ) as client:
        yield client
    create_app(test_settings, clock=clock, manage_database=False)


def _oversized_mutation() -> bytes:
    padding = "x" * LIMIT
    return json.dumps({"query": f"mutation {{ setAvailability(available: false) {{ id }} }} # {padding}"}).encode()


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
        "/graphql",
        content=_chunks(body, 10),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {admin.token}"},
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


# ---- headers on every response


async def test_every_http_response_says_nosniff_and_no_referrer(api: Api) -> None:
    admin = await api.create_account()
    app = await api.install_api_app(admin)
    body = json.dumps({"messageId": "m1", "sender": {"id": "c1"}, "text": "hi"}).encode()
    responses = {
        "graphql": await api.http.post("/graphql", json={"query": "{ __typename }"}),
        "graphql-refusal": await api.http.post(
            "/graphql", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        "graphiql": await api.http.get("/graphql", headers={"Accept": "text/html"}),
        "healthz": await api.http.get("/healthz"),
        "readyz": await api.http.get("/readyz"),
        "webhook": await app.post(body),
        "webhook-bad-signature": await app.post(body, signature="sha256=00"),
        "webhook-unknown-app": await api.http.post("/webhooks/api/nope", content=body),
        "messenger-verification": await api.http.get("/webhooks/messenger/nope", params={"hub.verify_token": "x"}),
        "web-app": await api.http.get("/"),
        "web-app-deep-link": await api.http.get("/inbox/conversations/abc"),
        "web-app-script": await api.http.get("/web/js/main.js"),
        "unknown-path": await api.http.get("/nope"),
        "body-too-large": await api.http.post("/graphql", content=b"{}", headers={"Content-Length": "abc"}),
    }
    assert responses["webhook"].status_code == 200 and responses["body-too-large"].status_code == 413
    for name, response in responses.items():
        assert response.headers.get("x-content-type-options") == "nosniff", name
        assert response.headers.get("referrer-policy") == "no-referrer", name


# ---- a client that goes away


def _post_scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"inbox.example.test"),
            (b"content-type", b"application/json"),
            (b"content-length", b"1000"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("inbox.example.test", 443),
    }


async def _disconnect_mid_body(app: Any, path: str) -> None:
    """The client sends part of its body, then goes away (what uvicorn tells the app: http.disconnect)."""
    parts = [{"type": "http.request", "body": b'{"query": "{ __typ', "more_body": True}]

    async def receive() -> dict[str, Any]:
        return parts.pop(0) if parts else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        pass  # nobody is there to read it

    await app(_post_scope(path), receive, send)


async def test_a_client_disconnecting_mid_body_is_one_warning_line_without_a_traceback(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await api.create_account()
    webhook = await api.install_api_app(admin)

    for path in ("/graphql", f"/webhooks/api/{webhook.id}"):
        caplog.clear()
        with caplog.at_level(logging.INFO):
            await _disconnect_mid_body(api.app, path)

        (line,) = [record for record in caplog.records if record.levelno >= logging.WARNING]
        assert line.levelno == logging.WARNING and "disconnected" in line.getMessage() and path in line.getMessage()
        assert line.exc_info is None
    assert await Message.all().count() == 0
