"""R-TEMPLATE: sending an approved template (sendTemplate) and writing first (startConversation),
against the fake Twilio on the wire (resolvers/outreach.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from models import Contact, Conversation, InboxEvent, Message, MessageTemplate
from resolvers.delivery import retry_due_sends
from resolvers.ids import pk_of
from tests.provider_support import ACCOUNT_SID, CUSTOMER, Inbox, event_types, snapshot, whatsapp_conversation
from tests.resolvers.crm_support import new_person, notes_of
from tests.resolvers.template_support import add_quote, send_template, start, synced_templates, values
from tests.support import SET_AVAILABILITY, Person

NEW_NUMBER = "+14155550123"


async def quote_template(inbox: Inbox) -> str:
    add_quote(inbox)
    return (await synced_templates(inbox))["quote_ready"]["id"]


def thread(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in conversation["messages"]["edges"]]


async def closed_with_a_colleague(inbox: Inbox, conversation_id: str) -> Person:
    """The conversation assigned to a new colleague the app is shared with, then closed: the colleague."""
    colleague = await inbox.api.create_user(inbox.admin, "Cy Colleague")
    await inbox.api.data(
        "mutation($a: ID!, $u: [ID!]!) { shareMessagingApp(id: $a, userIds: $u) { id } }",
        {"a": inbox.whatsapp_id, "u": [colleague.id]},
        token=inbox.admin.token,
    )
    await inbox.api.data(
        "mutation($c: ID!, $u: ID!) { assignConversation(id: $c, userId: $u) { id } }",
        {"c": conversation_id, "u": colleague.id},
        token=inbox.admin.token,
    )
    await inbox.api.data(
        "mutation($c: ID!) { closeConversation(id: $c) { id } }", {"c": conversation_id}, token=inbox.admin.token
    )
    return colleague


# ---- sendTemplate


async def test_r_template_window_closed_then_a_template_then_the_customer_replies(inbox: Inbox) -> None:
    # Given a conversation whose window closed a day ago
    template_id = await quote_template(inbox)
    conversation_id = await whatsapp_conversation(inbox)
    inbox.clock.advance(hours=30)
    assert (await inbox.send(conversation_id))["errors"][0]["extensions"]["code"] == "REPLY_WINDOW_CLOSED"

    # When an agent sends the approved template
    result = await send_template(inbox, conversation_id, template_id, values(_1="Ana", _2="Q-7"))

    # Then Twilio got the ContentSid and its variables, and the thread shows the rendered text
    message = result["data"]["sendTemplate"]
    assert message["status"] == "SENT" and message["direction"] == "OUTBOUND"
    assert message["text"] == "Hi Ana, your quote Q-7 is ready."
    assert message["template"] == {"id": template_id, "name": "quote_ready", "status": "APPROVED"}
    assert message["sentBy"] == {"name": inbox.admin.name}
    [sent] = inbox.twilio.sent
    assert sent["content_sid"] == inbox.twilio.contents[0].sid and sent["body"] == message["text"]
    assert json.loads(sent["content_variables"]) == {"1": "Ana", "2": "Q-7"}
    assert sent["to"] == f"whatsapp:{CUSTOMER}"
    assert await event_types(pk_of("Message", message["id"])) == ["MESSAGE_SENT", "MESSAGE_STATUS_CHANGED"]
    # an agent's message never opens the window
    conversation = await inbox.conversation(CUSTOMER)
    assert conversation["canReply"] is False
    assert (await inbox.send(conversation_id))["errors"][0]["extensions"]["code"] == "REPLY_WINDOW_CLOSED"

    # And when the customer answers, the window is open again for free-form replies
    inbox.clock.advance(minutes=5)
    await inbox.whatsapp(CUSTOMER, "Yes please, send it")
    assert (await inbox.conversation(CUSTOMER))["canReply"] is True
    assert (await inbox.send(conversation_id, "Here it is"))["data"]["sendMessage"]["status"] == "SENT"


async def test_r_template_can_be_sent_inside_the_window_too(inbox: Inbox) -> None:
    template_id = await quote_template(inbox)
    conversation_id = await whatsapp_conversation(inbox)
    result = await send_template(inbox, conversation_id, template_id, values(_2="Q-1", _1="Bo"))
    assert result["data"]["sendTemplate"]["text"] == "Hi Bo, your quote Q-1 is ready."
    assert (await inbox.conversation(CUSTOMER))["canReply"] is True


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        (values(_1="Ana"), "2"),  # missing
        (values(_1="Ana", _2="   "), "2"),  # blank
        (values(_1="Ana", _2="Q-7", _3="extra"), "3"),  # no such placeholder
        ([{"key": "1", "value": "Ana"}, {"key": "1", "value": "Bo"}, {"key": "2", "value": "Q"}], "1"),  # twice
        (values(_1="Ana\nSmith", _2="Q-7"), "1"),  # not one line
        (values(_1="Ana", _2="Q\t7"), "2"),  # a tab
        (values(_1="Ana      Smith", _2="Q-7"), "1"),  # five spaces in a row
        (values(_1="A" * 1025, _2="Q-7"), "1"),  # too long
    ],
)
async def test_r_template_every_placeholder_needs_a_plain_text_value(
    inbox: Inbox, variables: list[dict[str, str]], named: str
) -> None:
    template_id = await quote_template(inbox)
    conversation_id = await whatsapp_conversation(inbox)
    before = await snapshot()

    result = await send_template(inbox, conversation_id, template_id, variables)

    error = result["errors"][0]
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "variables", "variable": named}
    assert f"{{{{{named}}}}}" in error["message"]
    assert await snapshot() == before and inbox.twilio.sent == []


async def test_r_template_values_are_cleaned_before_they_are_stored_and_sent(inbox: Inbox) -> None:
    template_id = await quote_template(inbox)
    conversation_id = await whatsapp_conversation(inbox)
    result = await send_template(inbox, conversation_id, template_id, values(_1="A\x00na", _2="Q-7"))
    assert result["data"]["sendTemplate"]["text"] == "Hi A\ufffdna, your quote Q-7 is ready."
    assert json.loads(inbox.twilio.sent[0]["content_variables"])["1"] == "A\ufffdna"


@pytest.mark.parametrize("status", ["pending", "rejected", "paused", "disabled", "received"])
async def test_r_template_only_approved_templates_are_sent(inbox: Inbox, status: str) -> None:
    inbox.twilio.add_content(ACCOUNT_SID, "not_yet", "Hello {{1}}", approval=status)
    template_id = (await synced_templates(inbox))["not_yet"]["id"]
    conversation_id = await whatsapp_conversation(inbox)
    before = await snapshot()

    result = await send_template(inbox, conversation_id, template_id, values(_1="Ana"))
    started = await start(inbox, NEW_NUMBER, template_id, values(_1="Ana"))

    for refused in (result, started):
        assert refused["errors"][0]["extensions"]["code"] == "TEMPLATE_NOT_APPROVED"
    assert await snapshot() == before and inbox.twilio.sent == []


@pytest.mark.parametrize(
    ("code", "readable"),
    [
        ("63005", "did not accept the template"),
        ("63027", "does not exist for this language"),
        ("21656", "template's values"),
        ("63016", "Outside the 24-hour WhatsApp window"),
    ],
)
async def test_r_template_twilio_refusals_are_provider_errors_with_the_code(
    inbox: Inbox, code: str, readable: str
) -> None:
    template_id = await quote_template(inbox)
    conversation_id = await whatsapp_conversation(inbox)
    inbox.twilio.reject_next(int(code), message="Twilio's own words")

    result = await send_template(inbox, conversation_id, template_id, values(_1="Ana", _2="Q-7"))

    error = result["errors"][0]
    assert error["extensions"]["code"] == "PROVIDER_ERROR" and error["extensions"]["providerCode"] == code
    assert readable in error["message"]
    message = await inbox.message(error["extensions"]["messageId"])
    assert message["status"] == "FAILED" and message["errorCode"] == code and readable in message["errorMessage"]
    assert message["text"] == "Hi Ana, your quote Q-7 is ready."


async def test_r_template_changed_upstream_since_the_sync_is_refused_by_twilio(inbox: Inbox) -> None:
    # Given a template approved when synced, then paused at WhatsApp (the fake answers as Twilio does)
    add_quote(inbox)
    template_id = (await synced_templates(inbox))["quote_ready"]["id"]
    inbox.twilio.contents[0].approval = "paused"
    conversation_id = await whatsapp_conversation(inbox)

    result = await send_template(inbox, conversation_id, template_id, values(_1="Ana", _2="Q-7"))

    assert result["errors"][0]["extensions"]["providerCode"] == "63027"


async def test_r_template_of_another_app_or_account_is_not_found(inbox: Inbox) -> None:
    template_id = await quote_template(inbox)
    conversation_id = await whatsapp_conversation(inbox)
    outsider = await inbox.api.create_account("Otherco", "Olga Other")
    await inbox.graph.customer_writes("104532118312345", "2222333344445555", "Hi")
    messenger_conversation = (await inbox.conversation("2222333344445555"))["id"]

    not_shared = await send_template(inbox, conversation_id, template_id, values(_1="A", _2="B"), outsider.token)
    other_app = await send_template(inbox, messenger_conversation, template_id, values(_1="A", _2="B"))
    malformed = await send_template(inbox, conversation_id, "nonsense", values(_1="A", _2="B"))

    for refused in (not_shared, other_app, malformed):
        assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    node = await inbox.api.data("query($id: ID!) { node(id: $id) { id } }", {"id": template_id}, token=outsider.token)
    assert node["node"] is None


# ---- startConversation


async def test_r_template_start_conversation_writes_first_to_a_new_number(inbox: Inbox) -> None:
    template_id = await quote_template(inbox)

    result = await start(inbox, NEW_NUMBER, template_id, values(_1="Ana", _2="Q-7"))

    conversation = result["data"]["startConversation"]
    assert conversation["status"] == "OPEN" and conversation["section"] == "ASSIGNED_TO_ME"
    assert conversation["assignee"] == {"id": inbox.admin.id}
    assert conversation["contact"] == {"externalId": NEW_NUMBER}
    assert conversation["canReply"] is False  # until the contact answers
    [message] = thread(conversation)
    assert message["status"] == "SENT" and message["template"]["id"] == template_id
    assert inbox.twilio.sent[0]["to"] == f"whatsapp:{NEW_NUMBER}"
    events = await InboxEvent.filter(conversation_id=pk_of("Conversation", conversation["id"])).order_by("id")
    assert [str(event.type) for event in events] == ["CONVERSATION_CREATED", "MESSAGE_SENT", "MESSAGE_STATUS_CHANGED"]
    assert events[0].actor_id == pk_of("User", inbox.admin.id)

    # and when the contact answers, the conversation is the same one, still the caller's
    await inbox.whatsapp(NEW_NUMBER, "Thanks!")
    again = await inbox.api.data(
        "query($id: ID!) { node(id: $id) { ... on Conversation { canReply assignee { id } messages { edges { node { direction } } } } } }",
        {"id": conversation["id"]},
        token=inbox.admin.token,
    )
    assert again["node"]["canReply"] is True and again["node"]["assignee"] == {"id": inbox.admin.id}
    assert [edge["node"]["direction"] for edge in again["node"]["messages"]["edges"]] == ["OUTBOUND", "INBOUND"]


async def test_r_template_start_conversation_twice_gives_the_same_conversation(inbox: Inbox) -> None:
    template_id = await quote_template(inbox)
    first = await start(inbox, NEW_NUMBER, template_id, values(_1="Ana", _2="Q-7"))
    second = await start(inbox, NEW_NUMBER, template_id, values(_1="Ana", _2="Q-8"))
    assert first["data"]["startConversation"]["id"] == second["data"]["startConversation"]["id"]
    assert [m["text"] for m in thread(second["data"]["startConversation"])] == [
        "Hi Ana, your quote Q-7 is ready.",
        "Hi Ana, your quote Q-8 is ready.",
    ]
    assert await Contact.filter(external_id=NEW_NUMBER).count() == 1


async def test_r_template_start_conversation_twice_at_once_gives_one_conversation(inbox: Inbox) -> None:
    template_id = await quote_template(inbox)
    results = await asyncio.gather(
        *(start(inbox, NEW_NUMBER, template_id, values(_1="Ana", _2=f"Q-{i}")) for i in range(3))
    )
    ids = {result["data"]["startConversation"]["id"] for result in results}
    assert len(ids) == 1
    assert await Contact.filter(external_id=NEW_NUMBER).count() == 1
    assert await Conversation.filter(contact__external_id=NEW_NUMBER).count() == 1
    assert await Message.filter(conversation_id=pk_of("Conversation", ids.pop())).count() == 3


async def test_r_template_start_conversation_finds_the_live_one_and_keeps_its_assignee(inbox: Inbox) -> None:
    # Given the customer's conversation, assigned to a colleague, then closed
    template_id = await quote_template(inbox)
    conversation_id = await whatsapp_conversation(inbox)
    colleague = await closed_with_a_colleague(inbox, conversation_id)

    # When the admin starts a conversation with the same number
    result = await start(inbox, CUSTOMER, template_id, values(_1="Ana", _2="Q-7"))

    # Then it is that conversation, reopened, still the colleague's
    conversation = result["data"]["startConversation"]
    assert conversation["id"] == conversation_id and conversation["status"] == "OPEN"
    assert conversation["assignee"] == {"id": colleague.id}
    assert [m["direction"] for m in thread(conversation)] == ["INBOUND", "OUTBOUND"]


async def test_r_template_start_conversation_brings_back_a_deleted_one_with_only_the_new_message(inbox: Inbox) -> None:
    template_id = await quote_template(inbox)
    conversation_id = await whatsapp_conversation(inbox)
    await inbox.api.data(
        "mutation($c: ID!) { deleteConversation(id: $c) }", {"c": conversation_id}, token=inbox.admin.token
    )

    conversation = (await start(inbox, CUSTOMER, template_id, values(_1="Ana", _2="Q-7")))["data"]["startConversation"]

    assert conversation["assignee"] == {"id": inbox.admin.id} and conversation["status"] == "OPEN"
    assert [m["direction"] for m in thread(conversation)] == ["OUTBOUND"]


@pytest.mark.parametrize(
    "to", ["4915112345678", "+0151123456", "whatsapp:+4915112345678", "+49 151 12345678", "+49151123456789012", ""]
)
async def test_r_template_start_conversation_needs_an_e164_number(inbox: Inbox, to: str) -> None:
    template_id = await quote_template(inbox)
    before = await snapshot()
    result = await start(inbox, to, template_id, values(_1="Ana", _2="Q-7"))
    assert result["errors"][0]["extensions"] == {"code": "VALIDATION_FAILED", "field": "to"}
    assert await snapshot() == before and await Contact.all().count() == 0 and inbox.twilio.sent == []


async def test_r_template_start_conversation_is_refused_to_an_unavailable_caller(inbox: Inbox) -> None:
    template_id = await quote_template(inbox)
    await inbox.api.data(SET_AVAILABILITY, {"a": False}, token=inbox.admin.token)
    before = await snapshot()

    result = await start(inbox, NEW_NUMBER, template_id, values(_1="Ana", _2="Q-7"))

    assert result["errors"][0]["extensions"]["code"] == "ASSIGNEE_UNAVAILABLE"
    assert await snapshot() == before and await Contact.all().count() == 0 and inbox.twilio.sent == []


async def test_r_template_start_conversation_links_the_person_with_a_note(inbox: Inbox) -> None:
    template_id = await quote_template(inbox)
    person_id = await new_person(inbox.api, inbox.admin, "Ana Lima", phone=NEW_NUMBER)

    result = await start(inbox, NEW_NUMBER, template_id, values(_1="Ana", _2="Q-7"), person_id=person_id)

    assert result["data"]["startConversation"]["linkedPerson"] == {"id": person_id, "name": "Ana Lima"}
    [note] = await notes_of(inbox.api, inbox.admin, person_id)
    assert "Hi Ana, your quote Q-7 is ready." in note["content"]


async def test_r_template_start_conversation_checks_its_app_and_person(inbox: Inbox) -> None:
    template_id = await quote_template(inbox)
    member = await inbox.api.create_user(inbox.admin, "Mo Member")  # no access to the WhatsApp app
    outsider = await inbox.api.create_account("Otherco", "Olga Other")
    foreign_person = await new_person(inbox.api, outsider, "Not yours")
    args = (NEW_NUMBER, template_id, values(_1="Ana", _2="Q-7"))

    assert (await start(inbox, *args, token=member.token))["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    refused = await start(inbox, *args, app_id=inbox.messenger_id)
    assert refused["errors"][0]["extensions"]["code"] in ("VALIDATION_FAILED", "NOT_FOUND")
    assert (await start(inbox, *args, person_id=foreign_person))["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert await Contact.all().count() == 0 and inbox.twilio.sent == []


async def test_r_template_start_conversation_refused_by_twilio_keeps_the_failed_message(inbox: Inbox) -> None:
    template_id = await quote_template(inbox)
    inbox.twilio.reject_next(63027, message="Template does not exist for a language and locale")

    result = await start(inbox, NEW_NUMBER, template_id, values(_1="Ana", _2="Q-7"))

    error = result["errors"][0]
    assert error["extensions"]["code"] == "PROVIDER_ERROR" and error["extensions"]["providerCode"] == "63027"
    message = await inbox.message(error["extensions"]["messageId"])
    assert message["status"] == "FAILED"
    assert await Conversation.filter(contact__external_id=NEW_NUMBER).count() == 1


async def test_r_template_a_send_twilio_could_not_take_is_retried_as_the_template(inbox: Inbox) -> None:
    # Given Twilio down when the template is sent outside the window
    template_id = await quote_template(inbox)
    conversation_id = await whatsapp_conversation(inbox)
    inbox.clock.advance(hours=30)
    await inbox.twilio.stop()
    try:
        message = (await send_template(inbox, conversation_id, template_id, values(_1="Ana", _2="Q-7")))["data"]
    finally:
        await inbox.twilio.start()
    assert message["sendTemplate"]["status"] == "QUEUED"

    # When the retry loop sends it
    inbox.clock.advance(minutes=1)
    assert await retry_due_sends() == 1

    # Then Twilio gets the template with the same values, not a free-form body
    assert (await inbox.message(message["sendTemplate"]["id"]))["status"] == "SENT"
    [sent] = inbox.twilio.sent
    assert sent["content_sid"] == inbox.twilio.contents[0].sid
    assert json.loads(sent["content_variables"]) == {"1": "Ana", "2": "Q-7"}


async def test_r_template_a_rendered_text_over_whatsapps_limit_is_refused(inbox: Inbox) -> None:
    template_id = await quote_template(inbox)
    conversation_id = await whatsapp_conversation(inbox)
    before = await snapshot()
    result = await send_template(inbox, conversation_id, template_id, values(_1="A" * 1000, _2="B" * 1000))
    assert result["errors"][0]["extensions"] == {"code": "VALIDATION_FAILED", "field": "variables"}
    assert await snapshot() == before


async def test_r_template_uninstalling_the_app_removes_its_templates_and_template_messages(inbox: Inbox) -> None:
    template_id = await quote_template(inbox)
    conversation_id = await whatsapp_conversation(inbox)
    await send_template(inbox, conversation_id, template_id, values(_1="Ana", _2="Q-7"))
    await inbox.api.data(
        "mutation($id: ID!) { uninstallMessagingApp(id: $id) }", {"id": inbox.whatsapp_id}, token=inbox.admin.token
    )
    assert await MessageTemplate.all().count() == 0
    assert await Message.filter(app_id=pk_of("MessagingApp", inbox.whatsapp_id)).count() == 0


async def test_r_template_start_conversation_gives_the_caller_a_closed_one_whose_assignee_left(inbox: Inbox) -> None:
    # Given the customer's conversation, closed with a colleague who was then deactivated (R-ADMIN)
    template_id = await quote_template(inbox)
    conversation_id = await whatsapp_conversation(inbox)
    colleague = await closed_with_a_colleague(inbox, conversation_id)
    await inbox.api.data(
        "mutation($u: ID!) { deactivateUser(id: $u) { id } }", {"u": colleague.id}, token=inbox.admin.token
    )

    # When the admin writes to the same number
    conversation = (await start(inbox, CUSTOMER, template_id, values(_1="Ana", _2="Q-7")))["data"]["startConversation"]

    # Then it is reopened and, nobody holding it any more, given to the admin
    assert conversation["id"] == conversation_id and conversation["status"] == "OPEN"
    assert conversation["assignee"] == {"id": inbox.admin.id}
    events = await InboxEvent.filter(conversation_id=pk_of("Conversation", conversation_id)).order_by("id")
    assert [str(event.type) for event in events][-5:-2] == [
        "CONVERSATION_REOPENED",
        "CONVERSATION_UNASSIGNED",
        "CONVERSATION_ASSIGNED",
    ]
