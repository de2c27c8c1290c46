"""Hostile input every webhook must survive (providers.md), for all three providers: NUL and lone
surrogates in any field are stored cleaned (U+FFFD) and answered 2xx, never 503; a value the
database refuses is a 4xx; a non-ASCII signature is 403; only http(s) attachments are kept."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from models import Contact, Message
from providers.api_channel import sign
from providers.sandbox.graph import FakeGraph
from providers.sandbox.twilio import whatsapp_form
from resolvers.ids import pk_of
from tests.provider_support import ACCOUNT_SID, FROM_NUMBER, PAGE_ID, Inbox, snapshot
from tests.support import Api, ApiApp

POISONS = {"nul": "\u0000", "lone-surrogate": "\ud800"}
SEEN = "\ufffd"
PSID = "6543210987654321"


async def stored(app_id: str) -> list[tuple[Any, ...]]:
    """Each message of the app with its contact, as the database holds them."""
    rows = (
        await Message.filter(app_id=pk_of("MessagingApp", app_id))
        .order_by("id")
        .select_related("conversation__contact")
    )
    return [
        (
            row.provider_message_id,
            row.text,
            [_pending(attachment) for attachment in row.attachments],
            row.conversation.contact.external_id,
            row.conversation.contact.name,
            row.conversation.contact.avatar_url,
        )
        for row in rows
    ]


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


# ---- NUL and lone surrogates: stored cleaned, once


def api_message(field: str, mark: str) -> dict[str, Any]:
    """An API channel message with `mark` inside `field` (dotted: sender.id, attachments.url)."""
    values = {
        "messageId": "m-1",
        "sender.id": "cust-1",
        "sender.name": "Carla",
        "sender.avatarUrl": "https://cdn.example/carla.png",
        "text": "Hello",
        "attachments.url": "https://cdn.example/a.pdf",
        "attachments.contentType": "application/pdf",
    }
    values[field] += mark + "x"
    return {
        "messageId": values["messageId"],
        "sender": {"id": values["sender.id"], "name": values["sender.name"], "avatarUrl": values["sender.avatarUrl"]},
        "text": values["text"],
        "attachments": [{"url": values["attachments.url"], "contentType": values["attachments.contentType"]}],
    }


def api_row(payload: dict[str, Any]) -> tuple[Any, ...]:
    sender = payload["sender"]
    return (
        payload["messageId"],
        payload["text"],
        payload["attachments"],
        sender["id"],
        sender["name"],
        sender["avatarUrl"],
    )


@pytest.mark.parametrize("poison", POISONS.values(), ids=POISONS.keys())
@pytest.mark.parametrize(
    "field",
    ["messageId", "sender.id", "sender.name", "sender.avatarUrl", "text", "attachments.url", "attachments.contentType"],
)
async def test_api_channel_stores_nul_and_lone_surrogates_cleaned_once(api: Api, field: str, poison: str) -> None:
    # given an API channel app
    admin = await api.create_account()
    app = await api.install_api_app(admin)
    raw = json.dumps(api_message(field, poison)).encode()  # a lone surrogate travels as the escape \ud800

    # when the message arrives, then again (the provider retries)
    first, again = await app.post(raw), await app.post(raw)

    # then it is stored once, the poison shown as U+FFFD
    assert (first.status_code, first.json()["duplicate"]) == (200, False), first.text
    assert (again.status_code, again.json()["duplicate"]) == (200, True), again.text
    assert await stored(app.id) == [api_row(api_message(field, SEEN))]


def twilio_form(field: str, mark: str) -> dict[str, str]:
    values = {
        "MessageSid": "SM" + "0" * 32,
        "ProfileName": "Carla",
        "Body": "Hello",
        "MediaUrl0": "https://api.twilio.com/media/ME1",
        "MediaContentType0": "image/jpeg",
    }
    values[field] += mark + "x"
    return whatsapp_form(
        account_sid=ACCOUNT_SID,
        to=FROM_NUMBER,
        sender="+5511988887777",
        body=values["Body"],
        profile_name=values["ProfileName"],
        media=[(values["MediaUrl0"], values["MediaContentType0"])],
        sid=values["MessageSid"],
    )


def twilio_row(form: dict[str, str]) -> tuple[Any, ...]:
    attachments = [{"url": form["MediaUrl0"], "contentType": form["MediaContentType0"]}]
    return (form["MessageSid"], form["Body"], attachments, "+5511988887777", form["ProfileName"], None)


# A form body is percent-encoded UTF-8: bytes that are not UTF-8 (a surrogate's) decode to U+FFFD
# already, so only NUL can reach the fields through Twilio.
@pytest.mark.parametrize("field", ["MessageSid", "ProfileName", "Body", "MediaUrl0", "MediaContentType0"])
async def test_twilio_stores_nul_cleaned_once(inbox: Inbox, field: str) -> None:
    # given Twilio's signed form with a NUL in `field`
    form = twilio_form(field, POISONS["nul"])

    # when it arrives twice
    first, again = await inbox.post_twilio(form), await inbox.post_twilio(form)

    # then it is stored once, cleaned
    assert (first.status_code, again.status_code) == (200, 200), first.text
    assert await stored(inbox.whatsapp_id) == [twilio_row(twilio_form(field, SEEN))]


def messenger_event(field: str, mark: str) -> dict[str, Any]:
    values = {"sender.id": PSID, "mid": "m_abc", "text": "Hello", "attachments.url": "https://cdn.fbsbx.example/a.jpg"}
    values[field] += mark + "x"
    attachments = [{"type": "image", "payload": {"url": values["attachments.url"]}}]
    return FakeGraph.message_event(
        PAGE_ID, values["sender.id"], values["text"], mid=values["mid"], attachments=attachments
    )


def messenger_row(event: dict[str, Any]) -> tuple[Any, ...]:
    message = event["message"]
    attachments = [{"url": message["attachments"][0]["payload"]["url"], "contentType": "image/*"}]
    return (message["mid"], message["text"], attachments, event["sender"]["id"], None, None)


@pytest.mark.parametrize("poison", POISONS.values(), ids=POISONS.keys())
@pytest.mark.parametrize("field", ["sender.id", "mid", "text", "attachments.url"])
async def test_messenger_stores_nul_and_lone_surrogates_cleaned_once(inbox: Inbox, field: str, poison: str) -> None:
    # given a page webhook with the poison in `field`
    event = messenger_event(field, poison)

    # when Facebook delivers it twice
    first = await inbox.graph.post_events(PAGE_ID, [event])
    again = await inbox.graph.post_events(PAGE_ID, [event])

    # then it is stored once, cleaned
    assert (first.status_code, again.status_code) == (200, 200), first.text
    assert await stored(inbox.messenger_id) == [messenger_row(messenger_event(field, SEEN))]


# ---- a value the database refuses: the request's fault, never "retry later"


async def test_a_value_the_database_refuses_is_400_not_503(api: Api, db: str, caplog: pytest.LogCaptureFixture) -> None:
    # given a message id longer than the column that keeps it (nothing checks its length before the database)
    admin = await api.create_account()
    app = await api.install_api_app(admin)
    raw = json.dumps({**api_message("text", ""), "messageId": "m" * 300}).encode()
    before = await snapshot()

    # when the webhook brings it
    with caplog.at_level(logging.WARNING):
        response = await api.http.post(
            f"/webhooks/api/{app.id}", content=raw, headers={"X-Switchboard-Signature": sign(app.secret, raw)}
        )

    # then the provider is told its request is wrong (it would retry a 503 forever), nothing changes
    assert response.status_code == 400, response.text
    assert await snapshot() == before
    assert warnings(caplog) and not any("database unavailable" in line for line in warnings(caplog))


async def test_messenger_skips_an_event_the_database_refuses_and_stores_the_others(
    inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    # given a customer's conversation
    assert (await inbox.graph.customer_writes(PAGE_ID, PSID, "Hi", mid="m_first")).status_code == 200

    # when a batch brings an echo whose id is longer than any id column, then another message
    echo = {
        "sender": {"id": PAGE_ID},
        "recipient": {"id": PSID},
        "timestamp": 1,
        "message": {"mid": "m_" + "e" * 300, "is_echo": True, "text": "From the page"},
    }
    later = FakeGraph.message_event(PAGE_ID, PSID, "Still there?", mid="m_later")
    with caplog.at_level(logging.WARNING):
        response = await inbox.graph.post_events(PAGE_ID, [echo, later])

    # then the echo is skipped with a log line, the other event is stored, and Facebook hears 200
    assert response.status_code == 200, response.text
    assert [row[0] for row in await stored(inbox.messenger_id)] == ["m_first", "m_later"]
    assert any("cannot be stored" in line for line in warnings(caplog))


# ---- a non-ASCII signature header: 403


NOT_ASCII = "sha256=ünïcødé".encode()


async def test_api_channel_non_ascii_signature_is_403(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    admin = await api.create_account()
    app = await api.install_api_app(admin)
    raw = json.dumps(api_message("text", "")).encode()
    response = await api.http.post(
        f"/webhooks/api/{app.id}", content=raw, headers={"X-Switchboard-Signature": NOT_ASCII}
    )
    assert response.status_code == 403, response.text
    assert await Message.all().count() == 0


async def test_messenger_non_ascii_signature_is_403(inbox: Inbox) -> None:
    raw = json.dumps(
        {"object": "page", "entry": [{"id": PAGE_ID, "messaging": [messenger_event("text", "")]}]}
    ).encode()
    response = await inbox.api.http.post(inbox.messenger_url, content=raw, headers={"X-Hub-Signature-256": NOT_ASCII})
    assert response.status_code == 403, response.text
    assert await Message.all().count() == 0


async def test_twilio_non_ascii_signature_is_403(inbox: Inbox) -> None:
    response = await inbox.api.http.post(
        inbox.whatsapp_url, data=twilio_form("Body", ""), headers={"X-Twilio-Signature": "ünïcødé=".encode()}
    )
    assert response.status_code == 403, response.text
    assert await Message.all().count() == 0


def _pending(attachment: dict[str, Any]) -> dict[str, Any]:
    """An inbound attachment as the provider gave it; each waits for its copy (R-MEDIA)."""
    found = dict(attachment)
    assert found.pop("state") == "PENDING"
    return found


# ---- attachments: only http(s) links are kept


NOT_WEB = [
    "javascript:alert(document.cookie)",
    "data:text/html;base64,PHNjcmlwdD4=",
    "file:///etc/passwd",
    " https://lead.space/x",
]
WEB = "https://cdn.example/photo.jpg"


async def test_api_channel_drops_attachments_that_are_not_http_with_a_log_line(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await api.create_account()
    app: ApiApp = await api.install_api_app(admin)
    payload = {
        "messageId": "m-1",
        "sender": {"id": "cust-1"},
        "text": "See",
        "attachments": [{"url": url} for url in [*NOT_WEB, WEB]],
    }
    with caplog.at_level(logging.WARNING):
        response = await app.post(json.dumps(payload).encode())
    assert response.status_code == 200, response.text
    assert (await Message.get()).attachments == [{"url": WEB, "contentType": None, "state": "PENDING"}]
    assert any("not http(s)" in line and "javascript" in line for line in warnings(caplog))


async def test_api_channel_message_of_only_unsafe_attachments_is_refused(api: Api) -> None:
    admin = await api.create_account()
    app = await api.install_api_app(admin)
    payload = {"messageId": "m-1", "sender": {"id": "cust-1"}, "attachments": [{"url": "javascript:alert(1)"}]}
    response = await app.post(json.dumps(payload).encode())
    assert response.status_code == 400, response.text
    assert await Message.all().count() == 0 and await Contact.all().count() == 0


async def test_twilio_drops_media_that_is_not_http_with_a_log_line(
    inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    media = [(url, "image/jpeg") for url in [*NOT_WEB, WEB]]
    form = whatsapp_form(account_sid=ACCOUNT_SID, to=FROM_NUMBER, sender="+5511988887777", body="See", media=media)
    with caplog.at_level(logging.WARNING):
        response = await inbox.post_twilio(form)
    assert response.status_code == 200, response.text
    assert (await Message.get()).attachments == [{"url": WEB, "contentType": "image/jpeg", "state": "PENDING"}]
    assert any("not http(s)" in line for line in warnings(caplog))


async def test_messenger_drops_attachments_that_are_not_http_with_a_log_line(
    inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    attachments = [{"type": "file", "payload": {"url": url}} for url in [*NOT_WEB, WEB]]
    with caplog.at_level(logging.WARNING):
        response = await inbox.graph.customer_writes(PAGE_ID, PSID, "See", attachments=attachments)
    assert response.status_code == 200, response.text
    assert (await Message.get()).attachments == [
        {"url": WEB, "contentType": "application/octet-stream", "state": "PENDING"}
    ]
    assert any("not http(s)" in line for line in warnings(caplog))
