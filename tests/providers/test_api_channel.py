"""The generic API channel webhook (docs/providers.md): every bad input gets its status, a log line, and
leaves the data as it was; good input is stored whole, once."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from models import Contact, Conversation, InboxEvent, Message
from providers.api_channel import sign
from resolvers.ids import pk_of, to_api_id
from tests.conftest import POSTGRES_URL, require
from tests.processes import PostgresDatabase, command_env, create_acme, switchboard
from tests.support import Api, ApiApp

CONVERSATIONS = """{ conversations(section: UNASSIGNED) { totalCount edges { node {
  contact { externalId name } lastMessage { text } messages { edges { node { text } } } } } } }"""


async def snapshot() -> list[list[dict[str, Any]]]:
    return [await model.all().order_by("id").values() for model in (Contact, Conversation, Message, InboxEvent)]


def body(**fields: Any) -> bytes:
    payload = {"messageId": "m-1", "sender": {"id": "cust-1", "name": "Carla"}, "text": "Hello"}
    payload.update(fields)
    return json.dumps(payload).encode()


@pytest.fixture
async def app(api: Api) -> ApiApp:
    admin = await api.create_account()
    installed = await api.install_api_app(admin)
    installed.admin = admin  # type: ignore[attr-defined]
    await installed.receive("earlier-customer", "Already here")  # the data a bad input must leave alone
    return installed


async def refused(app: ApiApp, caplog: pytest.LogCaptureFixture, status: int, raw: bytes, **post: Any) -> str:
    """Posts `raw`, asserts `status`, one warning logged, nothing changed; returns the log line."""
    before = await snapshot()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        response = await app.post(raw, **post)
    assert response.status_code == status, response.text
    assert await snapshot() == before
    warnings = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert warnings, "no log line for a refused webhook"
    return warnings[-1]


# ---- signatures: 403


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=", "sha256=" + "0" * 64, "sha1=abc", "not a signature"],
    ids=["empty", "empty-digest", "wrong-digest", "other-scheme", "garbage"],
)
async def test_a_wrong_or_empty_signature_is_403(app: ApiApp, caplog: pytest.LogCaptureFixture, signature: str) -> None:
    raw = body()
    before = await snapshot()
    with caplog.at_level(logging.WARNING):
        response = await app.api.http.post(
            f"/webhooks/api/{app.id}",
            content=raw,
            headers={"Content-Type": "application/json", "X-Switchboard-Signature": signature},
        )
    assert response.status_code == 403
    assert await snapshot() == before
    assert any("signature" in record.getMessage() for record in caplog.records)


async def test_a_missing_signature_is_403(app: ApiApp, caplog: pytest.LogCaptureFixture) -> None:
    before = await snapshot()
    with caplog.at_level(logging.WARNING):
        response = await app.api.http.post(
            f"/webhooks/api/{app.id}", content=body(), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 403
    assert await snapshot() == before
    assert any("signature" in record.getMessage() for record in caplog.records)


async def test_a_signature_made_with_another_secret_is_403(app: ApiApp, caplog: pytest.LogCaptureFixture) -> None:
    raw = body()
    line = await refused(app, caplog, 403, raw, signature=sign("another-secret-another", raw))
    assert "signature" in line


async def test_a_signature_over_other_bytes_is_403(app: ApiApp, caplog: pytest.LogCaptureFixture) -> None:
    await refused(app, caplog, 403, body(text="Hello!"), signature=sign(app.secret, body()))


async def test_another_apps_signature_is_403(api: Api, app: ApiApp, caplog: pytest.LogCaptureFixture) -> None:
    other = await api.install_api_app(app.admin, name="Other channel", secret="the-other-apps-secret")  # type: ignore[attr-defined]
    raw = body()
    await refused(app, caplog, 403, raw, signature=sign(other.secret, raw))


# ---- unknown apps: 404


@pytest.mark.parametrize(
    "app_id",
    [to_api_id("MessagingApp", 999_999), to_api_id("Conversation", 1), "not-an-id", "%00"],
    ids=["no-such-app", "id-of-another-type", "malformed", "nul"],
)
async def test_an_unknown_app_id_is_404(app: ApiApp, caplog: pytest.LogCaptureFixture, app_id: str) -> None:
    raw = body()
    before = await snapshot()
    with caplog.at_level(logging.WARNING):
        response = await app.api.http.post(
            f"/webhooks/api/{app_id}", content=raw, headers={"X-Switchboard-Signature": sign(app.secret, raw)}
        )
    assert response.status_code == 404
    assert await snapshot() == before
    assert any("unknown app" in record.getMessage() for record in caplog.records)


async def test_the_id_of_an_app_of_another_provider_is_404(
    api: Api, app: ApiApp, caplog: pytest.LogCaptureFixture
) -> None:
    data = await api.data(
        """mutation($input: InstallMessagingAppInput!) { installMessagingApp(input: $input) { id } }""",
        {
            "input": {
                "provider": "MESSENGER",
                "name": "Facebook page",
                "credentials": {
                    "pageId": "1234567890",
                    "pageAccessToken": "EAAB-token",
                    "appSecret": app.secret,
                    "verifyToken": "v",
                },
            }
        },
        token=app.admin.token,  # type: ignore[attr-defined]
    )
    raw = body()
    before = await snapshot()
    with caplog.at_level(logging.WARNING):
        response = await api.http.post(
            f"/webhooks/api/{data['installMessagingApp']['id']}",
            content=raw,
            headers={"X-Switchboard-Signature": sign(app.secret, raw)},
        )
    assert response.status_code == 404
    assert await snapshot() == before
    assert any("unknown app" in record.getMessage() for record in caplog.records)


async def test_webhook_bad_signature_malformed_body_and_unknown_app_change_nothing(api: Api) -> None:
    team = await api.create_team()
    body = json.dumps({"messageId": "m-1", "sender": {"id": "cust"}, "text": "hi"}).encode()

    assert (await team.app.post(body, signature="sha256=" + "0" * 64)).status_code == 403
    assert (await team.app.post(b"{not json")).status_code == 400
    assert (await team.app.post(json.dumps({"sender": {"id": "cust"}, "text": "no id"}).encode())).status_code == 400
    assert (await team.app.post(json.dumps({"messageId": "m-2", "sender": {"id": "cust"}}).encode())).status_code == 400
    assert (await api.http.post("/webhooks/api/bm9wZQ", content=body)).status_code == 404

    assert await api.contacts_in(team.bob, "UNASSIGNED") == []
    assert not await InboxEvent.filter(app_id=pk_of("MessagingApp", team.app.id)).exists()


# ---- malformed bodies: 400


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"{'messageId': 'm'}", b"\xff\xfe not utf-8", b"[" * 50_000, b"NaN"],
    ids=["empty", "truncated", "single-quotes", "not-utf8", "deeply-nested", "nan"],
)
async def test_malformed_json_is_400(app: ApiApp, caplog: pytest.LogCaptureFixture, raw: bytes) -> None:
    await refused(app, caplog, 400, raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b'"text"',
        b"null",
        b"42",
        json.dumps({"sender": {"id": "cust-1"}, "text": "no id"}).encode(),
        body(messageId=""),
        body(messageId=42),
        body(messageId="m" * 256),
        json.dumps({"messageId": "m-1", "text": "no sender"}).encode(),
        body(sender="cust-1"),
        body(sender={"name": "no id"}),
        body(sender={"id": ""}),
        body(sender={"id": 7}),
        body(sender={"id": "c" * 256}),
        body(sender={"id": "cust-1", "name": "n" * 256}),
        body(sender={"id": "cust-1", "name": ["Carla"]}),
        body(text=None),
        body(text=12),
        body(text="", attachments=[]),
        body(attachments="http://x"),
        body(attachments=[{"contentType": "image/png"}]),
        body(attachments=[{"url": f"http://x/{i}"} for i in range(21)]),
    ],
    ids=[
        "array",
        "string",
        "null",
        "number",
        "no-messageId",
        "empty-messageId",
        "numeric-messageId",
        "long-messageId",
        "no-sender",
        "sender-not-object",
        "no-sender-id",
        "empty-sender-id",
        "numeric-sender-id",
        "long-sender-id",
        "long-sender-name",
        "sender-name-not-string",
        "no-text-no-attachment",
        "text-not-string",
        "empty-text",
        "attachments-not-list",
        "attachment-without-url",
        "too-many-attachments",
    ],
)
async def test_json_that_is_not_a_message_is_400(app: ApiApp, caplog: pytest.LogCaptureFixture, raw: bytes) -> None:
    await refused(app, caplog, 400, raw)


async def test_a_400_answer_says_what_is_wrong(app: ApiApp) -> None:
    response = await app.post(json.dumps({"sender": {"id": "cust-1"}, "text": "x"}).encode())
    assert response.status_code == 400 and "messageId" in response.json()["error"]


# ---- text is stored whole, or refused clearly


async def _only_message(api: Api, app: ApiApp) -> dict[str, Any]:
    data = await api.data(CONVERSATIONS, token=app.admin.token)  # type: ignore[attr-defined]
    (edge,) = [e for e in data["conversations"]["edges"] if e["node"]["contact"]["externalId"] == "cust-1"]
    return edge["node"]


async def test_emoji_and_other_scripts_are_stored_exactly(api: Api, app: ApiApp) -> None:
    text = "Olá 👋🏽 — 你好, שלום! 👨‍👩‍👧‍👦 \U0001f9d1\u200d\U0001f4bb"
    response = await app.post(body(text=text, sender={"id": "cust-1", "name": "Zoë 🌸"}))
    assert response.status_code == 200
    node = await _only_message(api, app)
    assert node["lastMessage"]["text"] == text
    assert node["messages"]["edges"][0]["node"]["text"] == text
    assert node["contact"]["name"] == "Zoë 🌸"


async def test_a_nul_character_is_replaced_visibly_never_cut(api: Api, app: ApiApp) -> None:
    response = await app.post(body(text="before\u0000after", sender={"id": "cust-1", "name": "Car\u0000la"}))
    assert response.status_code == 200
    node = await _only_message(api, app)
    assert node["lastMessage"]["text"] == "before\ufffdafter"
    assert node["contact"]["name"] == "Car\ufffdla"


async def test_a_long_text_at_the_limit_is_stored_whole(api: Api, app: ApiApp) -> None:
    from resolvers.messages import MAX_TEXT

    text = ("🙂 long text " * MAX_TEXT)[: MAX_TEXT - 1] + "!"
    response = await app.post(body(text=text))
    assert response.status_code == 200
    stored = (await _only_message(api, app))["messages"]["edges"][0]["node"]["text"]
    assert len(stored) == MAX_TEXT and stored == text


async def test_a_text_over_the_limit_is_refused_clearly(app: ApiApp, caplog: pytest.LogCaptureFixture) -> None:
    from resolvers.messages import MAX_TEXT

    raw = body(text="x" * (MAX_TEXT + 1))
    line = await refused(app, caplog, 400, raw)
    assert "longer than" in line
    response = await app.post(raw)
    assert str(MAX_TEXT) in response.json()["error"]


async def test_a_body_over_the_size_limit_is_413(
    app: ApiApp, caplog: pytest.LogCaptureFixture, test_settings: Any
) -> None:
    raw = body(text="x" * test_settings.max_body_bytes)
    line = await refused(app, caplog, 413, raw)
    assert "refused" in line


async def test_a_chunked_body_over_the_size_limit_is_413(
    app: ApiApp, caplog: pytest.LogCaptureFixture, test_settings: Any
) -> None:
    raw = body(text="x" * test_settings.max_body_bytes)

    async def chunks() -> Any:
        for start in range(0, len(raw), 64_000):
            yield raw[start : start + 64_000]

    before = await snapshot()
    with caplog.at_level(logging.WARNING):
        response = await app.api.http.post(
            f"/webhooks/api/{app.id}", content=chunks(), headers={"X-Switchboard-Signature": sign(app.secret, raw)}
        )
    assert response.status_code == 413
    assert await snapshot() == before
    assert any("refused" in record.getMessage() for record in caplog.records)


# ---- duplicates: 200, unchanged (R-IDEMPOTENT)


async def test_r_idempotent_a_duplicate_delivery_is_200_and_changes_nothing(api: Api, app: ApiApp) -> None:
    raw = body(messageId="dup-1")
    first = await app.post(raw)
    before = await snapshot()

    again = await app.post(raw)

    assert first.status_code == again.status_code == 200
    assert again.json() == {"ok": True, "duplicate": True}
    assert await snapshot() == before


async def test_r_idempotent_the_same_id_with_other_content_is_still_a_duplicate(api: Api, app: ApiApp) -> None:
    await app.post(body(messageId="dup-1", text="first"))
    before = await snapshot()

    again = await app.post(body(messageId="dup-1", text="rewritten"))

    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert await snapshot() == before


async def test_r_idempotent_concurrent_deliveries_store_one_message(api: Api, app: ApiApp) -> None:
    raw = body(messageId="dup-2", sender={"id": "cust-new"})
    answers = await asyncio.gather(*(app.post(raw) for _ in range(5)))
    assert [a.status_code for a in answers] == [200] * 5
    assert sorted(a.json()["duplicate"] for a in answers) == [False, True, True, True, True]
    assert await Message.filter(provider_message_id="dup-2").count() == 1
    assert await Conversation.filter(contact__external_id="cust-new").count() == 1


async def test_a_good_message_is_stored_and_answered_200(api: Api, app: ApiApp) -> None:
    response = await app.post(body())
    assert response.status_code == 200 and response.json() == {"ok": True, "duplicate": False}
    node = await _only_message(api, app)
    assert node["contact"] == {"externalId": "cust-1", "name": "Carla"}
    assert node["lastMessage"]["text"] == "Hello"


# ---- database down: 503, so the provider retries


@pytest.mark.postgres
async def test_a_message_arriving_while_the_database_is_down_is_503_and_its_retry_is_stored(tmp_path: Path) -> None:
    """A real server on its own PostgreSQL database, which stops accepting connections mid-run."""
    require(POSTGRES_URL, "SWITCHBOARD_TEST_POSTGRES_URL")
    database = PostgresDatabase(POSTGRES_URL)
    await database.create()
    try:
        env = command_env(database.url)
        created = create_acme(env, tmp_path)
        token = created["token"]
        with switchboard("serve", env=env, cwd=tmp_path) as server:
            async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as http:
                installed = await http.post("/graphql", json={"query": INSTALL, "variables": {"input": CHAT_APP}})
                app_id = installed.json()["data"]["installMessagingApp"]["id"]

                async def deliver(raw: bytes) -> httpx.Response:
                    return await http.post(
                        f"/webhooks/api/{app_id}",
                        content=raw,
                        headers={"X-Switchboard-Signature": sign("a-secret-of-16-chars", raw)},
                    )

                assert (await deliver(body(messageId="m-1", text="first"))).status_code == 200
                await database.go_down()

                during = await deliver(body(messageId="m-2", text="second"))
                ready_during = await http.get("/readyz")

                await database.come_back()
                retried = await deliver(body(messageId="m-2", text="second"))
                ready_after = await http.get("/readyz")
                thread = await http.post("/graphql", json={"query": CONVERSATIONS})
        assert during.status_code == 503, server.output()
        assert ready_during.status_code == 503
        assert retried.status_code == 200 and retried.json()["duplicate"] is False
        assert ready_after.status_code == 200
        (edge,) = thread.json()["data"]["conversations"]["edges"]
        assert [m["node"]["text"] for m in edge["node"]["messages"]["edges"]] == ["first", "second"]
        assert "database unavailable" in server.output()
    finally:
        await database.drop()


CHAT_APP = {
    "provider": "API",
    "name": "Chat",
    "credentials": {"secret": "a-secret-of-16-chars", "deliveryUrl": "http://127.0.0.1:9/x"},
}
INSTALL = """mutation($input: InstallMessagingAppInput!) { installMessagingApp(input: $input) { id } }"""
