"""Facebook Messenger on the wire: the signed page webhook in, the fake Graph Send/profile API out."""

from __future__ import annotations

import asyncio
import json

import pytest

from models import Message
from resolvers.ids import pk_of
from tests.files_support import as_received
from tests.provider_support import PAGE_ID, VERIFY_TOKEN, Inbox, event_types, snapshot

PSID = "6543210987654321"


def ms(inbox: Inbox, **after: float) -> int:
    moment = inbox.clock.now()
    return int(moment.timestamp() * 1000) + int(after.get("seconds", 0) * 1000)


async def test_get_verification_echoes_the_challenge_only_for_the_right_token(inbox: Inbox) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    answer = await inbox.api.http.get(inbox.messenger_url, params=params)
    assert (answer.status_code, answer.text) == (200, "1158201444")
    assert (
        await inbox.api.http.get(inbox.messenger_url, params={**params, "hub.verify_token": "guess"})
    ).status_code == 403
    assert (
        await inbox.api.http.get(inbox.messenger_url, params={**params, "hub.mode": "unsubscribe"})
    ).status_code == 403
    assert (await inbox.api.http.get(inbox.messenger_url)).status_code == 403


async def test_messenger_round_trip_inbound_profile_reply_echo_delivery_read(inbox: Inbox) -> None:
    # given a customer whose profile Graph knows
    inbox.graph.profiles[PSID] = {"first_name": "Jo", "last_name": "Lee", "profile_pic": "https://cdn.example/jo.jpg"}
    answer = await inbox.graph.customer_writes(PAGE_ID, PSID, "Is the blue one in stock?")
    assert answer.status_code == 200
    await inbox.runtime.drain()  # the profile is fetched after the webhook answered
    conversation = await inbox.conversation(PSID)
    assert conversation["section"] == "UNASSIGNED"
    assert conversation["contact"] == {"externalId": PSID, "name": "Jo Lee", "avatarUrl": "https://cdn.example/jo.jpg"}
    assert conversation["messages"][0]["senderName"] == "Jo Lee"
    assert conversation["canReply"] is True

    # when an agent replies
    sent = await inbox.send(conversation["id"], "Yes, two left.")
    message = sent["data"]["sendMessage"]
    assert message["status"] == "SENT"
    page = inbox.graph.page(PAGE_ID)
    (graph_message,) = page.sent
    assert (graph_message["psid"], graph_message["text"], graph_message["metadata"]) == (
        PSID,
        "Yes, two left.",
        message["id"],
    )

    # then its echo, delivery and read move it on, and the echo is not stored a second time
    assert (await inbox.graph.echo(PAGE_ID, graph_message["mid"])).status_code == 200
    assert (
        await inbox.graph.delivery(PAGE_ID, PSID, watermark=ms(inbox), mids=[graph_message["mid"]])
    ).status_code == 200
    assert (await inbox.message(message["id"]))["status"] == "DELIVERED"
    assert (await inbox.graph.read(PAGE_ID, PSID, watermark=ms(inbox))).status_code == 200
    assert (await inbox.message(message["id"]))["status"] == "READ"
    assert len((await inbox.conversation(PSID))["messages"]) == 2
    stored = await Message.get(id=pk_of("Message", message["id"]))
    assert stored.provider_message_id == graph_message["mid"]
    assert await event_types(stored.id) == [
        "MESSAGE_SENT",
        "MESSAGE_STATUS_CHANGED",
        "MESSAGE_STATUS_CHANGED",
        "MESSAGE_STATUS_CHANGED",
    ]


async def test_profile_api_failing_never_fails_the_webhook_and_is_asked_once(inbox: Inbox) -> None:
    # no profile: Graph answers error 2018218
    assert (await inbox.graph.customer_writes(PAGE_ID, PSID, "hello")).status_code == 200
    assert (await inbox.graph.customer_writes(PAGE_ID, PSID, "anyone?")).status_code == 200
    await inbox.runtime.drain()
    assert inbox.graph.profile_requests == [PSID]
    conversation = await inbox.conversation(PSID)
    assert conversation["contact"]["name"] is None
    assert [m["text"] for m in conversation["messages"]] == ["hello", "anyone?"]


async def test_attachments_postbacks_and_several_events_in_one_batch(inbox: Inbox) -> None:
    events = [
        inbox.graph.message_event(
            PAGE_ID,
            PSID,
            attachments=[
                {"type": "image", "payload": {"url": "https://scontent.example/p.jpg"}},
                {"type": "location", "payload": {"coordinates": {"lat": 52.52, "long": 13.4}}},
            ],
        ),
        {
            "sender": {"id": PSID},
            "recipient": {"id": PAGE_ID},
            "timestamp": ms(inbox),
            "postback": {"title": "Talk to a human", "payload": "HUMAN", "mid": "m_postback_1"},
        },
        inbox.graph.message_event(PAGE_ID, PSID, "🙂 thanks"),
    ]
    assert (await inbox.graph.post_events(PAGE_ID, events)).status_code == 200
    messages = (await inbox.conversation(PSID))["messages"]
    assert await as_received(messages[0]) == [{"url": "https://scontent.example/p.jpg", "contentType": "image/*"}]
    assert messages[0]["text"] == "Location: (52.52, 13.4)"
    assert [m["text"] for m in messages[1:]] == ["Talk to a human", "🙂 thanks"]


async def test_a_bad_event_inside_a_batch_is_skipped_and_the_others_stored(inbox: Inbox) -> None:
    events = [
        {"sender": {}, "recipient": {"id": PAGE_ID}, "message": {"mid": "m_no_sender", "text": "lost"}},
        "not an object",
        {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "message": {"text": "no mid"}},
        {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "read": {"watermark": "yesterday"}},
        inbox.graph.message_event(PAGE_ID, PSID, "kept"),
    ]
    assert (await inbox.graph.post_events(PAGE_ID, events)).status_code == 200
    assert [m["text"] for m in (await inbox.conversation(PSID))["messages"]] == ["kept"]


async def test_echo_from_the_page_inbox_is_stored_as_outbound_once(inbox: Inbox) -> None:
    await inbox.graph.customer_writes(PAGE_ID, PSID, "hi")
    echo = {
        "sender": {"id": PAGE_ID},
        "recipient": {"id": PSID},
        "timestamp": ms(inbox),
        "message": {
            "mid": "m_from_page_inbox",
            "is_echo": True,
            "app_id": 263902037430900,
            "text": "Hi from the page!",
        },
    }
    for _ in range(2):
        assert (await inbox.graph.post_events(PAGE_ID, [echo])).status_code == 200
    messages = (await inbox.conversation(PSID))["messages"]
    assert [(m["direction"], m["text"], m["status"]) for m in messages] == [
        ("INBOUND", "hi", "RECEIVED"),
        ("OUTBOUND", "Hi from the page!", "SENT"),
    ]


async def test_same_mid_delivered_twice_concurrently_is_stored_once(inbox: Inbox) -> None:
    event = inbox.graph.message_event(PAGE_ID, PSID, "once", mid="m_same_mid")
    answers = await asyncio.gather(*(inbox.graph.post_events(PAGE_ID, [event]) for _ in range(6)))
    assert {a.status_code for a in answers} == {200}
    assert await Message.filter(provider_message_id="m_same_mid").count() == 1


@pytest.mark.parametrize(
    "body, signature, status",
    [
        (b'{"object":"page","entry":[]}', "sha256=" + "0" * 64, 403),
        (b'{"object":"page","entry":[]}', "", 403),
        (b"{not json", None, 400),
        (b'{"object":"instagram","entry":[]}', None, 400),
        (b'{"object":"page"}', None, 400),
        (b"[]", None, 400),
        (b"[" * 100_000 + b"]" * 100_000, None, 400),
        (b'{"object":"page","entry":' + b'{"a":' * 100_000 + b"1" + b"}" * 100_001, None, 400),
        (b'{"object":"page","entry":[{"id":"\xff\xfe"}]}', None, 400),
    ],
)
async def test_bad_posts_get_their_status_and_change_nothing(
    inbox: Inbox, body: bytes, signature: str | None, status: int
) -> None:
    before = await snapshot()
    assert (await inbox.graph.post_events(PAGE_ID, [], raw=body, signature=signature)).status_code == status
    assert await snapshot() == before


async def test_signature_over_other_bytes_is_refused(inbox: Inbox) -> None:
    from providers.webhooks import sign

    signed = json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "messaging": []}]}).encode()
    sent = json.dumps(
        {
            "object": "page",
            "entry": [{"id": PAGE_ID, "messaging": [inbox.graph.message_event(PAGE_ID, PSID, "injected")]}],
        }
    ).encode()
    before = await snapshot()
    assert (
        await inbox.graph.post_events(PAGE_ID, [], raw=sent, signature=sign("0f1e2d3c4b5a69788796a5b4c3d2e1f0", signed))
    ).status_code == 403
    assert await snapshot() == before


async def test_entries_without_messaging_or_of_another_page_are_skipped(inbox: Inbox) -> None:
    body = json.dumps(
        {
            "object": "page",
            "entry": [
                {"id": PAGE_ID, "time": 1, "changes": [{"field": "feed"}]},
                {"id": "999", "time": 1, "messaging": [inbox.graph.message_event("999", PSID, "other page")]},
            ],
        }
    ).encode()
    before = await snapshot()
    assert (await inbox.graph.post_events(PAGE_ID, [], raw=body)).status_code == 200
    assert await snapshot() == before


async def test_unknown_app_is_404(inbox: Inbox) -> None:
    assert (
        await inbox.api.http.get(f"/webhooks/messenger/{inbox.whatsapp_id}", params={"hub.mode": "subscribe"})
    ).status_code == 404
    assert (await inbox.api.http.post("/webhooks/messenger/TWVzc2FnaW5nQXBwOjk5OTk", content=b"{}")).status_code == 404


async def test_read_watermark_covers_earlier_messages_and_never_moves_back(inbox: Inbox) -> None:
    await inbox.graph.customer_writes(PAGE_ID, PSID, "hi")
    conversation = await inbox.conversation(PSID)
    first = (await inbox.send(conversation["id"], "one"))["data"]["sendMessage"]
    watermark = ms(inbox)
    inbox.clock.advance(minutes=1)
    second = (await inbox.send(conversation["id"], "two"))["data"]["sendMessage"]

    await inbox.graph.read(PAGE_ID, PSID, watermark=watermark)
    await inbox.graph.delivery(PAGE_ID, PSID, watermark=ms(inbox))
    assert (await inbox.message(first["id"]))["status"] == "READ"
    assert (await inbox.message(second["id"]))["status"] == "DELIVERED"


async def test_a_body_over_the_size_limit_is_413_and_changes_nothing(inbox: Inbox) -> None:
    events = [inbox.graph.message_event(PAGE_ID, PSID, "x" * 60_000) for _ in range(20)]
    before = await snapshot()
    assert (await inbox.graph.post_events(PAGE_ID, events)).status_code == 413
    assert await snapshot() == before
