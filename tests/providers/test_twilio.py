"""WhatsApp by Twilio on the wire: signed form webhooks in, REST sends to the fake Twilio out."""

from __future__ import annotations

import asyncio

import pytest
from twilio.request_validator import RequestValidator

from models import Contact, Message
from providers.sandbox.twilio import whatsapp_form
from providers.twilio import signature_ok
from resolvers.ids import pk_of
from tests.files_support import as_received
from tests.provider_support import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, Inbox, event_types, snapshot

CUSTOMER = "+5511988887777"


def test_request_validator_matches_the_twilio_test_vector() -> None:
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
        "Caller": "+14158675309",
    }
    validator = RequestValidator("12345")
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert validator.compute_signature(url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert validator.validate(url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


@pytest.mark.parametrize(
    "url",
    [
        "https://mycompany.com/myapp.php?foo=1&bar=2",
        "https://mycompany.com:443/webhooks/twilio/A1",
        "http://127.0.0.1:8000/webhooks/twilio/A1/status?message=M9",
        "http://inbox.example.test/webhooks/twilio/A1",
    ],
)
def test_signature_check_accepts_and_refuses_exactly_what_twilios_validator_does(url: str) -> None:
    form = [("Body", "b"), ("From", "whatsapp:+1"), ("Body", "a"), ("Body", "b"), ("Empty", ""), ("Ünï", "✓ 👋")]
    params: dict[str, list[str]] = {}
    for name, value in form:
        params.setdefault(name, []).append(value)

    class Values(dict[str, list[str]]):  # how twilio reads a form with repeated names
        def getall(self, name: str) -> list[str]:
            return self[name]

    validator = RequestValidator(AUTH_TOKEN)
    port_toggled = url.replace(":443", "") if ":443" in url else url.replace(".com/", ".com:443/")
    candidates = [
        validator.compute_signature(url, Values(params)),
        validator.compute_signature(port_toggled, Values(params)),  # signed with (or without) the port
        validator.compute_signature(url + "x", Values(params)),
        validator.compute_signature(url, {"Body": "b"}),
        RequestValidator("0" * 32).compute_signature(url, Values(params)),
        validator.compute_signature(url, Values(params))[:-1],
        "",
    ]
    for candidate in candidates:
        assert signature_ok(AUTH_TOKEN, url, form, candidate) == validator.validate(url, Values(params), candidate)
    assert signature_ok(AUTH_TOKEN, url, form, candidates[0])
    assert not signature_ok(AUTH_TOKEN, url, form, candidates[2])


async def test_whatsapp_round_trip_inbound_section_reply_and_callbacks_to_read(inbox: Inbox) -> None:
    # given a customer writing on WhatsApp
    answer = await inbox.whatsapp(CUSTOMER, "Do you ship to Recife?", ProfileName="Maria Souza")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/xml")
    assert answer.text == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    conversation = await inbox.conversation(CUSTOMER)
    assert conversation["section"] == "UNASSIGNED"
    assert conversation["contact"]["name"] == "Maria Souza"
    assert conversation["canReply"] is True
    assert conversation["replyWindowEndsAt"].startswith("2026-01-06T09:00:00")
    assert [m["text"] for m in conversation["messages"]] == ["Do you ship to Recife?"]

    # when an agent replies
    sent = await inbox.send(conversation["id"], "Yes, in 3 days.")

    # then Twilio got it through its REST API and the message is SENT
    assert "errors" not in sent, sent
    message = sent["data"]["sendMessage"]
    assert (message["status"], message["direction"], message["sentBy"]["name"]) == ("SENT", "OUTBOUND", "Ana Admin")
    (twilio_message,) = inbox.twilio.sent
    assert twilio_message["to"] == f"whatsapp:{CUSTOMER}"
    assert twilio_message["from"] == f"whatsapp:{FROM_NUMBER}"
    assert twilio_message["body"] == "Yes, in 3 days."
    assert twilio_message["status_callback"].startswith(
        f"https://inbox.example.test/webhooks/twilio/{inbox.whatsapp_id}/status?"
    )

    # and the phone's callbacks move it to DELIVERED then READ
    for status in ("sent", "delivered", "read"):
        assert (await inbox.twilio.callback(twilio_message["sid"], status)).status_code == 200
    assert (await inbox.message(message["id"]))["status"] == "READ"
    stored = await Message.get(id=pk_of("Message", message["id"]))
    assert stored.provider_message_id == twilio_message["sid"]
    assert await event_types(stored.id) == [
        "MESSAGE_SENT",
        "MESSAGE_STATUS_CHANGED",
        "MESSAGE_STATUS_CHANGED",
        "MESSAGE_STATUS_CHANGED",
    ]


async def test_media_location_and_button_messages_are_stored_whole(inbox: Inbox) -> None:
    media = [
        ("https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM1/Media/ME1", "image/jpeg"),
        ("https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM1/Media/ME2", "application/pdf"),
    ]
    assert (await inbox.whatsapp(CUSTOMER, "", media=media)).status_code == 200
    assert (
        await inbox.whatsapp(
            CUSTOMER, "", MessageType="location", Latitude="-8.05", Longitude="-34.9", Label="Loja", Address="Rua A, 1"
        )
    ).status_code == 200
    assert (
        await inbox.whatsapp(CUSTOMER, "", MessageType="button", ButtonText="Track my order", ButtonPayload="TRACK")
    ).status_code == 200
    long_text = "🚀 olá " * 2000 + "\u0000end"
    assert (await inbox.whatsapp(CUSTOMER, long_text)).status_code == 200

    messages = (await inbox.conversation(CUSTOMER))["messages"]
    assert await as_received(messages[0]) == [
        {"url": media[0][0], "contentType": "image/jpeg"},
        {"url": media[1][0], "contentType": "application/pdf"},
    ]
    assert messages[0]["text"] is None
    assert messages[1]["text"] == "Location: Loja, Rua A, 1 (-8.05, -34.9)"
    assert messages[2]["text"] == "Track my order"
    assert messages[3]["text"] == long_text.replace("\u0000", "\ufffd")


@pytest.mark.parametrize("num_media", ["3", None, "many"])
async def test_num_media_missing_wrong_or_too_large_keeps_the_media_given(inbox: Inbox, num_media: str | None) -> None:
    form = whatsapp_form(
        account_sid=ACCOUNT_SID,
        to=FROM_NUMBER,
        sender=CUSTOMER,
        body="see photo",
        media=[("https://media.example/1.jpg", "image/jpeg")],
    )
    if num_media is None:
        del form["NumMedia"]
    else:
        form["NumMedia"] = num_media
    assert (await inbox.post_twilio(form)).status_code == 200
    (message,) = (await inbox.conversation(CUSTOMER))["messages"]
    assert await as_received(message) == [{"url": "https://media.example/1.jpg", "contentType": "image/jpeg"}]


async def test_signature_is_checked_against_public_base_url_not_the_request_scheme(inbox: Inbox) -> None:
    form = whatsapp_form(account_sid=ACCOUNT_SID, to=FROM_NUMBER, sender=CUSTOMER, body="via proxy")
    # the TLS proxy forwards to us over plain http; Twilio signed the https URL it was given
    plain_http = inbox.whatsapp_url.replace("https://", "http://")
    assert (await inbox.post_twilio(form, url=plain_http, signed_url=inbox.whatsapp_url)).status_code == 200
    # a signature over the http URL (or another port) is not Twilio's
    before = await snapshot()
    other = whatsapp_form(account_sid=ACCOUNT_SID, to=FROM_NUMBER, sender=CUSTOMER, body="forged")
    assert (await inbox.post_twilio(other, signed_url=plain_http)).status_code == 403
    with_port = inbox.whatsapp_url.replace("inbox.example.test", "inbox.example.test:8443")
    assert (await inbox.post_twilio(other, signed_url=with_port)).status_code == 403
    assert await snapshot() == before


@pytest.mark.parametrize("signature", ["", "bm90IHRoZSBzaWduYXR1cmU=", None])
async def test_missing_empty_or_wrong_signature_is_403_and_changes_nothing(inbox: Inbox, signature: str | None) -> None:
    form = whatsapp_form(account_sid=ACCOUNT_SID, to=FROM_NUMBER, sender=CUSTOMER, body="hi")
    before = await snapshot()
    if signature is None:  # signed with another token
        wrong = RequestValidator("0" * 32).compute_signature(inbox.whatsapp_url, form)
        response = await inbox.post_twilio(form, signature=wrong)
    else:
        response = await inbox.post_twilio(form, signature=signature)
    assert response.status_code == 403
    assert await snapshot() == before


async def test_tampered_field_after_signing_is_403(inbox: Inbox) -> None:
    form = whatsapp_form(account_sid=ACCOUNT_SID, to=FROM_NUMBER, sender=CUSTOMER, body="pay 10")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(inbox.whatsapp_url, form)
    form["Body"] = "pay 1000"
    assert (await inbox.post_twilio(form, signature=signature)).status_code == 403


@pytest.mark.parametrize(
    "change, why",
    [
        ({"From": "+5511988887777"}, "From without whatsapp:"),
        ({"From": "whatsapp:5511"}, "From not E.164"),
        ({"MessageSid": "", "SmsMessageSid": "", "SmsSid": ""}, "no MessageSid"),
        ({"Body": "", "NumMedia": "0", "MessageType": ""}, "nothing at all"),
    ],
)
async def test_malformed_messages_are_400_and_change_nothing(inbox: Inbox, change: dict[str, str], why: str) -> None:
    form = whatsapp_form(account_sid=ACCOUNT_SID, to=FROM_NUMBER, sender=CUSTOMER, body="hello")
    form.update(change)
    before = await snapshot()
    assert (await inbox.post_twilio(form)).status_code == 400, why
    assert await snapshot() == before


async def test_a_body_that_is_no_form_is_400(inbox: Inbox) -> None:
    before = await snapshot()
    response = await inbox.api.http.post(
        inbox.whatsapp_url,
        content=b"\xff\xfe{not a form",
        headers={"X-Twilio-Signature": "abc", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert await snapshot() == before


async def test_unknown_app_is_404_and_an_oversized_body_413(inbox: Inbox) -> None:
    form = whatsapp_form(account_sid=ACCOUNT_SID, to=FROM_NUMBER, sender=CUSTOMER, body="hi")
    assert (await inbox.post_twilio(form, url="/webhooks/twilio/TWVzc2FnaW5nQXBwOjk5OTk")).status_code == 404
    assert (await inbox.post_twilio(form, url="/webhooks/twilio/nonsense")).status_code == 404
    # the Messenger app's id is no Twilio app
    assert (await inbox.post_twilio(form, url=f"/webhooks/twilio/{inbox.messenger_id}")).status_code == 404
    before = await snapshot()
    huge = whatsapp_form(account_sid=ACCOUNT_SID, to=FROM_NUMBER, sender=CUSTOMER, body="x" * 1_100_000)
    assert (await inbox.post_twilio(huge)).status_code == 413
    assert await snapshot() == before


async def test_same_message_sid_delivered_twice_concurrently_is_stored_once(inbox: Inbox) -> None:
    form = whatsapp_form(
        account_sid=ACCOUNT_SID, to=FROM_NUMBER, sender=CUSTOMER, body="only once", sid="SM" + "a" * 32
    )
    answers = await asyncio.gather(*(inbox.post_twilio(dict(form)) for _ in range(6)))
    assert [a.status_code for a in answers] == [200] * 6
    assert await Message.filter(provider_message_id="SM" + "a" * 32).count() == 1
    assert await Contact.filter(external_id=CUSTOMER).count() == 1
    assert len((await inbox.conversation(CUSTOMER))["messages"]) == 1


async def test_status_callback_posted_to_the_inbound_url_is_routed_as_a_status(inbox: Inbox) -> None:
    await inbox.whatsapp(CUSTOMER, "hi")
    conversation = await inbox.conversation(CUSTOMER)
    sent = (await inbox.send(conversation["id"]))["data"]["sendMessage"]
    sid = inbox.twilio.sent[0]["sid"]
    answer = await inbox.twilio.callback(sid, "delivered", url=inbox.whatsapp_url)
    assert answer.status_code == 200
    assert (await inbox.message(sent["id"]))["status"] == "DELIVERED"
    assert len((await inbox.conversation(CUSTOMER))["messages"]) == 2  # not stored as a message


async def test_status_for_an_unknown_message_is_200_and_changes_nothing(inbox: Inbox) -> None:
    before = await snapshot()
    form = {"MessageSid": "SM" + "9" * 32, "MessageStatus": "delivered", "AccountSid": ACCOUNT_SID}
    assert (await inbox.post_twilio(form, url=f"/webhooks/twilio/{inbox.whatsapp_id}/status")).status_code == 200
    assert await snapshot() == before


async def test_text_longer_than_the_inbox_stores_is_refused_clearly_never_cut(inbox: Inbox) -> None:
    from resolvers.messages import MAX_TEXT

    before = await snapshot()
    form = whatsapp_form(account_sid=ACCOUNT_SID, to=FROM_NUMBER, sender=CUSTOMER, body="ä" * (MAX_TEXT + 1))
    response = await inbox.post_twilio(form)
    assert response.status_code == 400
    assert str(MAX_TEXT) in response.json()["error"]
    assert await snapshot() == before
