"""R-REPLY through sendMessage: windows, checked text, stored QUEUED first, forward-only statuses,
retries (resolvers/replies.py, resolvers/delivery.py). Each provider's own refusals and wire
format are in tests/providers/test_channels.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from models import DeliveryStatus, Message, OutboundSend
from providers.runtime import ProviderRuntime
from resolvers.delivery import LEASE, MAX_ATTEMPTS, retry_due_sends
from resolvers.ids import pk_of, to_api_id
from settings import get_settings
from tests.provider_support import (
    CUSTOMER,
    PAGE_ID,
    PSID,
    Inbox,
    event_types,
    messenger_conversation,
    snapshot,
    whatsapp_conversation,
)

# ---- windows


@pytest.mark.parametrize("channel", ["whatsapp", "messenger"])
async def test_r_reply_outside_the_24h_window_is_refused_and_nothing_sent(inbox: Inbox, channel: str) -> None:
    conversation_id = await (whatsapp_conversation if channel == "whatsapp" else messenger_conversation)(inbox)
    contact = CUSTOMER if channel == "whatsapp" else PSID
    inbox.clock.advance(hours=23, minutes=59)
    assert (await inbox.conversation(contact))["canReply"] is True
    inbox.clock.advance(hours=1, minutes=1)  # 25 h after the contact's message
    assert (await inbox.conversation(contact))["canReply"] is False
    before = await snapshot()

    result = await inbox.send(conversation_id, "Are you still there?")

    assert result["errors"][0]["extensions"]["code"] == "REPLY_WINDOW_CLOSED"
    assert await snapshot() == before
    assert inbox.twilio.sent == [] and inbox.graph.page(PAGE_ID).sent == []


async def test_r_reply_window_reopens_when_the_contact_writes_again(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    inbox.clock.advance(hours=30)
    await inbox.whatsapp(CUSTOMER, "back again")
    conversation = await inbox.conversation(CUSTOMER)
    assert conversation["canReply"] is True
    assert (await inbox.send(conversation_id))["data"]["sendMessage"]["status"] == "SENT"


async def test_reply_text_is_checked_and_invisible_conversations_do_not_exist(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    assert (await inbox.send(conversation_id, "   "))["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert (await inbox.send(conversation_id, "x" * 1601))["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    outsider = await inbox.api.create_account("Otherco", "Olga Other")
    member = await inbox.api.create_user(inbox.admin, "Mo Member")  # not shared with the app
    for person in (outsider, member):
        result = await inbox.api.execute(
            'mutation($c: ID!) { sendMessage(conversationId: $c, text: "hi") { id } }',
            {"c": conversation_id},
            token=person.token,
        )
        assert result["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert inbox.twilio.sent == []


# ---- the message's life: QUEUED first, events


async def test_reply_is_stored_queued_before_the_provider_is_called(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    message = (await inbox.send(conversation_id, "on its way"))["data"]["sendMessage"]
    pk = pk_of("Message", message["id"])
    assert await event_types(pk) == ["MESSAGE_SENT", "MESSAGE_STATUS_CHANGED"]  # QUEUED, then SENT
    assert not await OutboundSend.filter(message_id=pk).exists()
    conversation = await inbox.api.data(
        "query($id: ID!) { conversation(id: $id) { lastMessage { id text direction } } }",
        {"id": conversation_id},
        token=inbox.admin.token,
    )
    assert conversation["conversation"]["lastMessage"] == {
        "id": message["id"],
        "text": "on its way",
        "direction": "OUTBOUND",
    }


# ---- statuses only move forward


async def test_out_of_order_and_repeated_callbacks_never_move_a_status_back(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    message = (await inbox.send(conversation_id))["data"]["sendMessage"]
    sid = inbox.twilio.sent[0]["sid"]
    for status in ("read", "delivered", "sent", "queued", "read", "failed", "undelivered"):
        assert (
            await inbox.twilio.callback(sid, status, error_code="30008" if status != "read" else None)
        ).status_code == 200
    stored = await inbox.message(message["id"])
    assert (stored["status"], stored["errorCode"]) == ("READ", None)
    assert await event_types(pk_of("Message", message["id"])) == [
        "MESSAGE_SENT",
        "MESSAGE_STATUS_CHANGED",
        "MESSAGE_STATUS_CHANGED",
    ]


async def test_a_later_callback_without_error_code_never_erases_it(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    message = (await inbox.send(conversation_id))["data"]["sendMessage"]
    sid = inbox.twilio.sent[0]["sid"]
    await inbox.twilio.callback(sid, "undelivered", error_code="63018")
    for status in ("failed", "delivered", "read", "sent"):
        await inbox.twilio.callback(sid, status)
    stored = await inbox.message(message["id"])
    assert (stored["status"], stored["errorCode"]) == ("FAILED", "63018")


async def test_failed_after_delivered_is_ignored(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    message = (await inbox.send(conversation_id))["data"]["sendMessage"]
    sid = inbox.twilio.sent[0]["sid"]
    await inbox.twilio.callback(sid, "delivered")
    await inbox.twilio.callback(sid, "failed", error_code="30003")
    stored = await inbox.message(message["id"])
    assert (stored["status"], stored["errorCode"]) == ("DELIVERED", None)


async def test_concurrent_duplicated_callbacks_end_at_the_highest_status_with_one_event_each(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    message = (await inbox.send(conversation_id))["data"]["sendMessage"]
    sid = inbox.twilio.sent[0]["sid"]
    answers = await asyncio.gather(*(inbox.twilio.callback(sid, status) for status in ["delivered", "read"] * 4))
    assert {a.status_code for a in answers} == {200}
    assert (await inbox.message(message["id"]))["status"] == "READ"
    changes = await event_types(pk_of("Message", message["id"]))
    assert 2 <= changes.count("MESSAGE_STATUS_CHANGED") <= 3  # SENT→READ, or SENT→DELIVERED→READ; never a repeat


async def test_callback_that_overtakes_the_201_finds_the_message_by_our_id(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    message = (await inbox.send(conversation_id))["data"]["sendMessage"]
    pk = pk_of("Message", message["id"])
    sid = inbox.twilio.sent[0]["sid"]
    # as if the 201 had not been processed yet: no provider id, still QUEUED
    await Message.filter(id=pk).update(provider_message_id=None, status=DeliveryStatus.QUEUED)
    await inbox.twilio.callback(sid, "delivered")
    stored = await Message.get(id=pk)
    assert (stored.status, stored.provider_message_id) == (DeliveryStatus.DELIVERED, sid)


# ---- the provider down, a crash between commit and send


async def test_twilio_down_leaves_the_reply_queued_and_it_is_retried(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    await inbox.twilio.stop()
    try:
        message = (await inbox.send(conversation_id, "are you there?"))["data"]["sendMessage"]
    finally:
        await inbox.twilio.start()
    assert message["status"] == "QUEUED"
    pk = pk_of("Message", message["id"])
    assert (await OutboundSend.get(message_id=pk)).attempts == 1

    assert await retry_due_sends() == 0  # not due yet
    inbox.clock.advance(minutes=1)
    assert await retry_due_sends() == 1

    assert (await inbox.message(message["id"]))["status"] == "SENT"
    assert [m["body"] for m in inbox.twilio.sent] == ["are you there?"]
    assert not await OutboundSend.filter(message_id=pk).exists()


async def test_provider_down_for_good_ends_failed_never_lost(inbox: Inbox) -> None:
    conversation_id = await messenger_conversation(inbox)
    await inbox.graph.stop()
    try:
        message = (await inbox.send(conversation_id))["data"]["sendMessage"]
        for _ in range(MAX_ATTEMPTS):
            inbox.clock.advance(hours=1)
            await retry_due_sends()
    finally:
        await inbox.graph.start()
    failed = await inbox.message(message["id"])
    assert (failed["status"], failed["errorCode"]) == ("FAILED", "PROVIDER_UNREACHABLE")
    assert f"{MAX_ATTEMPTS} attempts" in failed["errorMessage"]
    assert not await OutboundSend.exists()


async def test_a_crash_between_commit_and_send_is_retried_by_the_next_process(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    await inbox.runtime.close()  # the process that commits dies before sending: no channel runs here
    message = (await inbox.send(conversation_id, "after restart"))["data"]["sendMessage"]
    assert message["status"] == "QUEUED"
    assert inbox.twilio.sent == []

    restarted = ProviderRuntime(get_settings())
    await restarted.start()
    try:
        assert await retry_due_sends() == 0  # the lease of the dead process has not run out
        inbox.clock.advance(seconds=LEASE.total_seconds() + 1)
        assert await retry_due_sends() == 1
    finally:
        await restarted.close()
    assert (await inbox.message(message["id"]))["status"] == "SENT"
    assert [m["body"] for m in inbox.twilio.sent] == ["after restart"]


async def test_claims_are_exclusive_when_processes_retry_at_once(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    await inbox.runtime.close()
    for n in range(6):
        await inbox.send(conversation_id, f"reply {n}")
    restarted = ProviderRuntime(get_settings())
    await restarted.start()
    try:
        inbox.clock.advance(seconds=LEASE.total_seconds() + 1)
        await asyncio.gather(*(retry_due_sends(limit=2) for _ in range(4)))
    finally:
        await restarted.close()
    assert sorted(m["body"] for m in inbox.twilio.sent) == [f"reply {n}" for n in range(6)]  # each once


# ---- R-PRESENCE: the stale-send guard

GUARDED_SEND = """mutation($c: ID!, $t: String!, $e: ID) {
  sendMessage(conversationId: $c, text: $t, expectedLastMessageId: $e) { id text } }"""


async def guarded_send(inbox: Inbox, conversation_id: str, expected: str | None) -> dict[str, Any]:
    variables = {"c": conversation_id, "t": "Sorry for the wait", "e": expected}
    return await inbox.api.execute(GUARDED_SEND, variables, token=inbox.admin.token)


async def test_r_presence_a_reply_over_a_newer_message_is_conflict_and_nothing_sent(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    seen = (await inbox.conversation(CUSTOMER))["messages"][-1]["id"]
    await inbox.whatsapp(CUSTOMER, "Never mind, sorted it out")  # arrives while the rep types
    before = await snapshot()

    result = await guarded_send(inbox, conversation_id, seen)

    assert result["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert result["errors"][0]["extensions"]["reason"] == "NEW_ACTIVITY"
    assert await snapshot() == before
    assert inbox.twilio.sent == []


async def test_r_presence_a_reply_over_a_newer_comment_is_conflict(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    seen = (await inbox.conversation(CUSTOMER))["messages"][-1]["id"]
    await inbox.api.data(
        'mutation($c: ID!) { addComment(conversationId: $c, text: "I am answering this one") { id } }',
        {"c": conversation_id},
        token=inbox.admin.token,
    )
    before = await snapshot()

    result = await guarded_send(inbox, conversation_id, seen)

    extensions = result["errors"][0]["extensions"]
    assert (extensions["code"], extensions["reason"]) == ("CONFLICT", "NEW_ACTIVITY")
    assert await snapshot() == before
    assert inbox.twilio.sent == []


async def test_r_presence_a_reply_over_the_newest_message_is_sent(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    await inbox.whatsapp(CUSTOMER, "Hello again")
    newest = (await inbox.conversation(CUSTOMER))["messages"][-1]["id"]

    sent = (await guarded_send(inbox, conversation_id, newest))["data"]["sendMessage"]

    assert sent["text"] == "Sorry for the wait"
    assert len(inbox.twilio.sent) == 1
    # The reply is now the newest: a second reply that expects it goes out too (our own replies count).
    assert (await guarded_send(inbox, conversation_id, sent["id"]))["data"]["sendMessage"]
    assert len(inbox.twilio.sent) == 2


async def test_r_presence_without_an_expected_id_a_reply_is_sent_as_before(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    await inbox.whatsapp(CUSTOMER, "Anyone there?")

    assert (await guarded_send(inbox, conversation_id, None))["data"]["sendMessage"]
    assert len(inbox.twilio.sent) == 1


async def test_r_presence_an_expected_id_outside_the_conversation_is_not_found(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    await inbox.whatsapp("+5511911112222", "another customer")
    elsewhere = (await inbox.conversation("+5511911112222"))["messages"][-1]["id"]
    before = await snapshot()

    for expected in (elsewhere, "not-an-id", to_api_id("Message", 999_999)):
        result = await guarded_send(inbox, conversation_id, expected)
        assert result["errors"][0]["extensions"]["code"] == "NOT_FOUND", expected

    assert await snapshot() == before
    assert inbox.twilio.sent == []
