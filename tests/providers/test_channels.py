"""Each provider's Channel on the wire (providers/twilio.py, messenger.py, api_channel.py): a
refusal ends FAILED with the provider's own code, a temporary error is retried, the API channel
posts replies signed and takes statuses back, and no credential reaches the logs. The rule they
serve, R-REPLY, is in tests/resolvers/test_replies.py."""

from __future__ import annotations

import json
import logging

import pytest

from models import OutboundSend
from providers.api_channel import sign
from providers.sandbox.api_receiver import ApiChannelReceiver
from resolvers.delivery import retry_due_sends
from tests.provider_support import (
    APP_SECRET,
    AUTH_TOKEN,
    PAGE_TOKEN,
    Inbox,
    messenger_conversation,
    snapshot,
    whatsapp_conversation,
)


def provider_error(result: dict) -> dict:
    (error,) = result["errors"]
    assert error["extensions"]["code"] == "PROVIDER_ERROR", error
    return error


# ---- provider refusals


@pytest.mark.parametrize("code", [21211, 63007, 20003])
async def test_twilio_refusal_is_failed_with_its_code_and_a_provider_error(inbox: Inbox, code: int) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    inbox.twilio.reject_next(code)
    error = provider_error(await inbox.send(conversation_id))
    assert error["extensions"]["providerCode"] == str(code)
    failed = await inbox.message(error["extensions"]["messageId"])
    assert (failed["status"], failed["errorCode"]) == ("FAILED", str(code))
    assert failed["errorMessage"]
    assert not await OutboundSend.exists()


async def test_twilio_63016_arriving_later_as_a_failed_callback(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    message = (await inbox.send(conversation_id))["data"]["sendMessage"]
    sid = inbox.twilio.sent[0]["sid"]
    await inbox.twilio.callback(sid, "failed", error_code="63016", error_message="Failed to send freeform message")
    failed = await inbox.message(message["id"])
    assert (failed["status"], failed["errorCode"]) == ("FAILED", "63016")
    assert "24-hour" in failed["errorMessage"]


@pytest.mark.parametrize("code, subcode", [(551, 1545041), (190, 460), (613, None), (10, 2018278)])
async def test_messenger_refusal_is_failed_with_its_code(inbox: Inbox, code: int, subcode: int | None) -> None:
    conversation_id = await messenger_conversation(inbox)
    inbox.graph.reject_next(code, subcode=subcode)
    error = provider_error(await inbox.send(conversation_id))
    assert error["extensions"]["providerCode"] == str(code)
    failed = await inbox.message(error["extensions"]["messageId"])
    assert (failed["status"], failed["errorCode"]) == ("FAILED", str(code))


# ---- temporary errors


async def test_graph_temporary_error_is_retried(inbox: Inbox) -> None:
    conversation_id = await messenger_conversation(inbox)
    inbox.graph.reject_next(2, message="Service temporarily unavailable", status=503)
    message = (await inbox.send(conversation_id))["data"]["sendMessage"]
    assert message["status"] == "QUEUED"
    inbox.clock.advance(minutes=1)
    await retry_due_sends()
    assert (await inbox.message(message["id"]))["status"] == "SENT"


# ---- the generic API channel


async def test_api_channel_reply_is_posted_signed_and_statuses_come_back(inbox: Inbox) -> None:
    secret = "api-channel-secret-123"
    receiver = ApiChannelReceiver(secret)
    await receiver.start()
    try:
        app = await inbox.install("API", {"secret": secret, "deliveryUrl": receiver.delivery_url}, "Website chat")
        body = json.dumps({"messageId": "in-1", "sender": {"id": "visitor-7", "name": "Vi"}, "text": "hello"}).encode()
        await inbox.api.http.post(
            f"/webhooks/api/{app['id']}", content=body, headers={"X-Switchboard-Signature": sign(secret, body)}
        )
        conversation = await inbox.conversation("visitor-7")
        inbox.clock.advance(days=10)
        assert (await inbox.conversation("visitor-7"))["canReply"] is True  # no window on the API channel
        assert (await inbox.conversation("visitor-7"))["replyWindowEndsAt"] is None

        message = (await inbox.send(conversation["id"], "hi Vi"))["data"]["sendMessage"]

        assert message["status"] == "SENT"
        (delivery,) = receiver.received
        assert delivery.signature == sign(secret, delivery.body)
        assert delivery.payload == {"messageId": message["id"], "recipient": {"id": "visitor-7"}, "text": "hi Vi"}

        async def status(payload: dict, key: str = secret) -> int:
            raw = json.dumps(payload).encode()
            answer = await inbox.api.http.post(
                f"/webhooks/api/{app['id']}/status", content=raw, headers={"X-Switchboard-Signature": sign(key, raw)}
            )
            return answer.status_code

        assert await status({"messageId": "ext-1", "status": "delivered"}) == 200  # their id
        assert await status({"messageId": message["id"], "status": "read"}) == 200  # our id
        assert await status({"messageId": "ext-1", "status": "sent"}) == 200
        assert (await inbox.message(message["id"]))["status"] == "READ"
        before = await snapshot()
        assert await status({"messageId": "ext-1", "status": "exploded"}) == 400
        assert await status({"messageId": "ext-1", "status": "failed"}, key="wrong-secret-wrong") == 403
        assert await status({"messageId": "nobody", "status": "read"}) == 200
        assert await snapshot() == before

        receiver.answer = (422, {"error": "unknown recipient"})
        error = provider_error(await inbox.send(conversation["id"], "again"))
        assert error["extensions"]["providerCode"] == "HTTP_422"
    finally:
        await receiver.stop()


# ---- secrets


async def test_no_credential_reaches_the_logs_on_a_round_trip(inbox: Inbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    whatsapp = await whatsapp_conversation(inbox)
    messenger = await messenger_conversation(inbox)
    await inbox.send(whatsapp)
    await inbox.send(messenger)
    inbox.graph.reject_next(190)
    await inbox.send(messenger)
    assert caplog.records  # the round trip did log
    for secret in (AUTH_TOKEN, PAGE_TOKEN, APP_SECRET):
        assert secret not in caplog.text
