"""R-MEDIA: files both ways (resolvers/files.py), through the API, the fake providers on the wire,
and the file store: a directory, and a real S3-compatible server (moto) where named."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from models import FileState, Message, StoredFile
from providers.sandbox.graph import FakeGraph
from providers.sandbox.twilio import FakeTwilio
from resolvers.clock import ManualClock
from resolvers.files import copy_file, public_url
from resolvers.ids import pk_of
from settings import Settings, get_settings
from tests.files_support import PDF, PNG, SEND, copy_media, s3_keys, sweep, upload, uploaded
from tests.provider_support import (
    ACCOUNT_SID,
    CUSTOMER,
    PAGE_ID,
    PSID,
    Inbox,
    inbox_with,
    messenger_conversation,
    whatsapp_conversation,
)


@pytest.fixture(autouse=True)
def empty_file_store(test_settings: Settings) -> None:
    """The directory store is the session's: each test starts with it empty."""
    root = Path(test_settings.files_dir)
    for path in sorted(root.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()


def stored_paths() -> list[Path]:
    root = Path(get_settings().files_dir)
    return sorted(path for path in root.rglob("*") if path.is_file())


async def send(
    inbox: Inbox, conversation_id: str, ids: list[str], text: str | None = None, token: str | None = None
) -> dict[str, Any]:
    return await inbox.api.execute(SEND, {"c": conversation_id, "t": text, "a": ids}, token=token or inbox.admin.token)


def reason(result: dict[str, Any]) -> tuple[str, str | None]:
    extensions = result["errors"][0]["extensions"]
    return extensions["code"], extensions.get("reason")


async def customer_sends_media(inbox: Inbox, data: bytes, content_type: str, text: str = "") -> dict[str, Any]:
    """A WhatsApp customer sends a file: Twilio's form names a MediaUrl on the (fake) Twilio API."""
    url = inbox.twilio.add_media(ACCOUNT_SID, data, content_type)
    response = await inbox.whatsapp(CUSTOMER, text, media=[(url, content_type)])
    assert response.status_code == 200
    return (await inbox.conversation(CUSTOMER))["messages"][-1]


async def fetched_by_provider(inbox: Inbox, url: str) -> tuple[int, str, bytes]:
    """What a provider gets from a link it was given: no credentials, only the link."""
    assert url.startswith("https://inbox.example.test/files/public/"), url
    got = await inbox.api.http.get(url)
    return got.status_code, got.headers.get("content-type", ""), got.content


async def fetch(inbox: Inbox, url: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await inbox.api.http.get(url, headers=headers)


# ---- files out: uploads


async def test_r_media_upload_over_multipart_is_stored_until_sent(inbox: Inbox) -> None:
    # given a signed-in user
    # when they upload a PDF as a GraphQL multipart request
    file = await uploaded(inbox.api, inbox.admin.token, PDF, "Quote 2024.pdf", "application/pdf")
    # then it is described and its bytes are in the file store
    assert file["filename"] == "Quote 2024.pdf" and file["contentType"] == "application/pdf"
    assert file["size"] == len(PDF)
    assert [path.read_bytes() for path in stored_paths()] == [PDF]
    row = await StoredFile.get(id=pk_of("UploadedFile", file["id"]))
    assert row.message_id is None and row.expires_at is not None


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "expected"),
    [
        (b"MZ\x90\x00", "setup.exe", "application/x-msdownload", "FILE_TYPE_NOT_ALLOWED"),
        (b"<svg onload=alert(1)>", "x.svg", "image/svg+xml", "FILE_TYPE_NOT_ALLOWED"),
        (b"", "empty.pdf", "application/pdf", "FILE_EMPTY"),
        (b"%PDF" + b"0" * 25_000_000, "big.pdf", "application/pdf", "FILE_TOO_LARGE"),
    ],
)
async def test_r_media_upload_limits_refuse_with_a_reason_and_store_nothing(
    inbox: Inbox, data: bytes, filename: str, content_type: str, expected: str
) -> None:
    response = await upload(inbox.api, inbox.admin.token, data, filename, content_type)
    assert response.status_code == 200
    assert reason(response.json()) == ("VALIDATION_FAILED", expected)
    assert await StoredFile.all().count() == 0
    assert stored_paths() == []


async def test_r_media_multipart_needs_an_authorization_header(inbox: Inbox) -> None:
    # A cross-site <form> can post multipart but cannot set Authorization: it is refused outright.
    response = await upload(inbox.api, None, PDF)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    unknown = await upload(inbox.api, "sb_unknown", PDF)
    assert unknown.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await StoredFile.all().count() == 0


# ---- files out: sending


async def test_r_media_whatsapp_file_goes_out_as_a_mediaurl_twilio_fetches(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    file = await uploaded(inbox.api, inbox.admin.token, PNG, "photo.png", "image/png")

    result = await send(inbox, conversation_id, [file["id"]], "Here it is")

    message = result["data"]["sendMessage"]
    assert message["status"] == "SENT" and message["text"] == "Here it is"
    [attachment] = message["attachments"]
    assert attachment["url"].startswith("https://inbox.example.test/files/")
    assert (attachment["contentType"], attachment["filename"], attachment["size"]) == (
        "image/png",
        "photo.png",
        len(PNG),
    )
    # Twilio got a MediaUrl under PUBLIC_BASE_URL and fetched the very bytes from it.
    assert inbox.twilio.sent[-1]["num_media"] == "1"
    assert await fetched_by_provider(inbox, inbox.twilio.sent[-1]["media_url"]) == (200, "image/png", PNG)
    row = await StoredFile.get(id=pk_of("UploadedFile", file["id"]))
    assert row.message_id == pk_of("Message", message["id"]) and row.expires_at is None


async def test_r_media_a_file_alone_is_a_message_and_nothing_at_all_is_refused(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    file = await uploaded(inbox.api, inbox.admin.token)
    alone = await send(inbox, conversation_id, [file["id"]])
    assert alone["data"]["sendMessage"]["text"] is None
    assert await fetched_by_provider(inbox, inbox.twilio.sent[-1]["media_url"]) == (200, "application/pdf", PDF)
    assert reason(await send(inbox, conversation_id, []))[0] == "VALIDATION_FAILED"


async def test_r_media_messenger_file_goes_out_as_an_attachment_by_url_then_the_text(inbox: Inbox) -> None:
    conversation_id = await messenger_conversation(inbox)
    file = await uploaded(inbox.api, inbox.admin.token, PNG, "photo.png", "image/png")

    result = await send(inbox, conversation_id, [file["id"]], "And the text")

    assert result["data"]["sendMessage"]["status"] == "SENT"
    [url] = inbox.graph.attachment_urls
    assert await fetched_by_provider(inbox, url) == (200, "image/png", PNG)
    assert [sent["text"] for sent in inbox.graph.page(PAGE_ID).sent] == ["", "And the text"]


async def test_r_media_api_channel_delivers_signed_attachment_links(inbox: Inbox) -> None:
    from providers.sandbox.api_receiver import ApiChannelReceiver

    receiver = ApiChannelReceiver("s3cret-s3cret-s3cret")
    await receiver.start()
    try:
        app = await inbox.api.install_api_app(inbox.admin, delivery_url=receiver.delivery_url)
        await app.receive("visitor-1", "hello")
        conversation_id = await app.conversation_id("visitor-1")
        file = await uploaded(inbox.api, inbox.admin.token)

        result = await send(inbox, conversation_id, [file["id"]], "the quote")

        assert result["data"]["sendMessage"]["status"] == "SENT"
        [delivery] = receiver.received
        [sent] = delivery.payload["attachments"]
        assert (sent["contentType"], sent["filename"]) == ("application/pdf", "quote.pdf")
        got = await inbox.api.http.get(sent["url"])
        assert (got.status_code, got.content) == (200, PDF)
    finally:
        await receiver.stop()


async def test_r_media_per_provider_limits_are_checked_when_sending(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    big_image = await uploaded(inbox.api, inbox.admin.token, PNG + b"0" * 5_000_000, "big.png", "image/png")
    two = [await uploaded(inbox.api, inbox.admin.token) for _ in range(2)]
    before = await Message.all().count()

    assert reason(await send(inbox, conversation_id, [big_image["id"]])) == ("VALIDATION_FAILED", "FILE_TOO_LARGE")
    assert reason(await send(inbox, conversation_id, [f["id"] for f in two])) == (
        "VALIDATION_FAILED",
        "TOO_MANY_ATTACHMENTS",
    )
    assert await Message.all().count() == before and inbox.twilio.sent == []


async def test_r_media_an_upload_is_sent_once(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    file = await uploaded(inbox.api, inbox.admin.token)
    assert (await send(inbox, conversation_id, [file["id"]], "one"))["data"]["sendMessage"]["status"] == "SENT"
    before = await Message.all().count()

    again = await send(inbox, conversation_id, [file["id"]], "two")

    assert reason(again) == ("VALIDATION_FAILED", "UPLOAD_ALREADY_USED")
    assert await Message.all().count() == before and len(inbox.twilio.sent) == 1


async def test_r_media_two_replies_naming_one_upload_at_once_send_it_once(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    file = await uploaded(inbox.api, inbox.admin.token)

    results = await asyncio.gather(*(send(inbox, conversation_id, [file["id"]], f"try {n}") for n in range(2)))

    outcomes = sorted("SENT" if r.get("data") else reason(r)[1] or "" for r in results)
    assert outcomes == ["SENT", "UPLOAD_ALREADY_USED"]
    assert len(inbox.twilio.sent) == 1
    assert await StoredFile.filter(message_id__isnull=False).count() == 1


async def test_r_media_another_accounts_upload_is_not_found(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    outsider = await inbox.api.create_account("Otherco", "Olga Other")
    theirs = await uploaded(inbox.api, outsider.token)
    before = await Message.all().count()

    assert reason(await send(inbox, conversation_id, [theirs["id"]], "hi"))[0] == "NOT_FOUND"
    assert reason(await send(inbox, conversation_id, ["bm90IGFuIGlk"], "hi"))[0] == "NOT_FOUND"
    assert await Message.all().count() == before
    assert (await StoredFile.get(id=pk_of("UploadedFile", theirs["id"]))).message_id is None


async def test_r_media_signed_links_expire_and_refuse_tampering(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    file = await uploaded(inbox.api, inbox.admin.token)
    await send(inbox, conversation_id, [file["id"]], "quote")
    link = public_url(pk_of("UploadedFile", file["id"]), "quote.pdf")

    assert (await inbox.api.http.get(link)).content == PDF
    tampered = link[:-1] + ("0" if link[-1] != "0" else "1")
    assert (await inbox.api.http.get(tampered)).status_code == 403
    longer = link.replace("expires=", "expires=9")
    assert (await inbox.api.http.get(longer)).status_code == 403
    other_file = link.replace(f"/public/{pk_of('UploadedFile', file['id'])}/", "/public/999/")
    assert (await inbox.api.http.get(other_file)).status_code == 403
    inbox.clock.advance(seconds=get_settings().file_link_seconds + 1)
    assert (await inbox.api.http.get(link)).status_code == 403


async def test_r_media_an_unsent_upload_has_no_public_link(inbox: Inbox) -> None:
    file = await uploaded(inbox.api, inbox.admin.token)
    link = public_url(pk_of("UploadedFile", file["id"]), "quote.pdf")
    assert (await inbox.api.http.get(link)).status_code == 403


async def test_r_media_unused_uploads_are_removed_after_a_day(inbox: Inbox) -> None:
    conversation_id = await whatsapp_conversation(inbox)
    unused = await uploaded(inbox.api, inbox.admin.token)
    used = await uploaded(inbox.api, inbox.admin.token, PNG, "p.png", "image/png")
    await send(inbox, conversation_id, [used["id"]])
    inbox.clock.advance(hours=23)
    assert await sweep() == 0 and len(stored_paths()) == 2

    inbox.clock.advance(hours=1, seconds=1)
    assert await sweep() == 1

    assert [path.read_bytes() for path in stored_paths()] == [PNG]
    assert reason(await send(inbox, conversation_id, [unused["id"]], "late"))[0] == "NOT_FOUND"


# ---- files in


async def test_r_media_inbound_media_is_copied_after_the_webhook_and_served_to_users_with_access(inbox: Inbox) -> None:
    # given a customer's photo on WhatsApp: the webhook answers before anything is fetched
    message = await customer_sends_media(inbox, PNG, "image/png", "look")
    [attachment] = message["attachments"]
    assert attachment["url"].startswith("https://inbox.example.test/files/")
    assert inbox.twilio.media_requests == []
    pending = await fetch(inbox, attachment["url"], inbox.admin.token)
    assert pending.status_code == 503

    # when the media worker runs
    assert await copy_media() == 1

    # then the file is ours: served to the team, with Twilio's Basic auth used and not leaked on the redirect
    got = await fetch(inbox, attachment["url"], inbox.admin.token)
    assert (got.status_code, got.headers["content-type"], got.content) == (200, "image/png", PNG)
    found = await inbox.api.data(
        "query($id: ID!) { node(id: $id) { ... on Message { attachments { url contentType filename size } } } }",
        {"id": message["id"]},
        token=inbox.admin.token,
    )
    [copied] = found["node"]["attachments"]
    assert (copied["contentType"], copied["size"]) == ("image/png", len(PNG))
    assert len(inbox.twilio.media_requests) == 1
    # and to nobody else
    assert (await fetch(inbox, attachment["url"], None)).status_code == 401
    outsider = await inbox.api.create_account("Otherco", "Olga Other")
    assert (await fetch(inbox, attachment["url"], outsider.token)).status_code == 404
    member = await inbox.api.create_user(inbox.admin, "Mo Member")  # the app is not shared with Mo
    assert (await fetch(inbox, attachment["url"], member.token)).status_code == 404


async def test_r_media_inbound_copy_is_retried_with_back_off_then_succeeds(inbox: Inbox) -> None:
    message = await customer_sends_media(inbox, PDF, "application/pdf")
    inbox.twilio.media_failures = 1
    assert await copy_media() == 1
    assert (await StoredFile.get()).state == FileState.PENDING
    assert await copy_media() == 0  # not due yet: backing off
    inbox.clock.advance(seconds=31)

    assert await copy_media() == 1

    url = message["attachments"][0]["url"]
    assert (await fetch(inbox, url, inbox.admin.token)).content == PDF


async def test_r_media_inbound_copy_that_fails_for_good_is_unavailable_and_the_message_stays(inbox: Inbox) -> None:
    message = await customer_sends_media(inbox, PDF, "application/pdf", "my invoice")
    inbox.twilio.media_failures = 100
    for _ in range(5):
        assert await copy_media() == 1
        inbox.clock.advance(minutes=16)

    assert await copy_media() == 0
    row = await StoredFile.get()
    assert row.state == FileState.UNAVAILABLE and row.attempts == 5
    assert (await fetch(inbox, message["attachments"][0]["url"], inbox.admin.token)).status_code == 404
    assert (await inbox.conversation(CUSTOMER))["messages"][-1]["text"] == "my invoice"


@pytest.mark.parametrize(("data", "content_type"), [(b"<html><script>x</script>", "text/html")])
async def test_r_media_inbound_content_type_is_checked(inbox: Inbox, data: bytes, content_type: str) -> None:
    await customer_sends_media(inbox, data, content_type)
    assert await copy_media() == 1
    assert (await StoredFile.get()).state == FileState.UNAVAILABLE
    assert stored_paths() == []


async def test_r_media_a_provider_url_that_is_gone_is_unavailable_at_once(inbox: Inbox) -> None:
    url = f"{inbox.twilio.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM1/Media/MEgone"
    assert (await inbox.whatsapp(CUSTOMER, "", media=[(url, "image/jpeg")])).status_code == 200
    assert await copy_media() == 1
    assert (await StoredFile.get()).state == FileState.UNAVAILABLE


async def test_r_media_inbound_media_on_a_loopback_address_is_refused_without_a_request(
    db: str, clock: ManualClock, test_settings: Settings, fake_twilio: FakeTwilio, fake_graph: FakeGraph
) -> None:
    # given the guard on (FETCH_PRIVATE_ADDRESSES off, as in production): fake Twilio is on 127.0.0.1
    async with inbox_with(clock, test_settings, fake_twilio, fake_graph, fetch_private_addresses=False) as inbox:
        message = await customer_sends_media(inbox, PDF, "application/pdf", "my invoice")
        inbox.twilio.media_requests.clear()

        # when the media worker runs
        assert await copy_media() == 1

        # then nothing was asked of the address, the file is UNAVAILABLE at once, the message stays
        assert inbox.twilio.media_requests == []
        row = await StoredFile.get()
        assert (row.state, row.attempts) == (FileState.UNAVAILABLE, 1)
        assert stored_paths() == []
        shown = (await inbox.conversation(CUSTOMER))["messages"][-1]
        assert (shown["text"], len(shown["attachments"])) == ("my invoice", 1)
        assert (await fetch(inbox, message["attachments"][0]["url"], inbox.admin.token)).status_code == 404


async def test_r_media_messenger_media_is_copied_by_url(inbox: Inbox) -> None:
    # Graph's attachment URLs are signed CDN links that need no credentials: the fake's storage host stands in.
    media_sid = inbox.twilio.add_media(ACCOUNT_SID, PNG, "image/png").rsplit("/", 1)[1]
    media_url = f"{inbox.twilio.storage_url}/media-content/{media_sid}"
    response = await inbox.graph.customer_writes(
        PAGE_ID, PSID, "pic", attachments=[{"type": "image", "payload": {"url": media_url}}]
    )
    assert response.status_code == 200
    assert await copy_media() == 1
    [attachment] = (await inbox.conversation(PSID))["messages"][-1]["attachments"]
    assert (await fetch(inbox, attachment["url"], inbox.admin.token)).content == PNG


# ---- R-DELETE


async def test_r_media_deleting_a_conversation_deletes_its_files(inbox: Inbox) -> None:
    message = await customer_sends_media(inbox, PNG, "image/png")
    await copy_media()
    conversation_id = (await inbox.conversation(CUSTOMER))["id"]
    file = await uploaded(inbox.api, inbox.admin.token)
    await send(inbox, conversation_id, [file["id"]], "quote")
    kept = await uploaded(inbox.api, inbox.admin.token, PNG, "other.png", "image/png")  # not this conversation's
    assert len(stored_paths()) == 3

    await inbox.api.data(
        "mutation($id: ID!) { deleteConversation(id: $id) }", {"id": conversation_id}, token=inbox.admin.token
    )

    assert [path.read_bytes() for path in stored_paths()] == [PNG]
    assert await StoredFile.all().values_list("id", flat=True) == [pk_of("UploadedFile", kept["id"])]
    assert (await fetch(inbox, message["attachments"][0]["url"], inbox.admin.token)).status_code == 404


# ---- the same on S3-compatible storage (moto's server)


@pytest.fixture
async def s3_inbox(
    db: str,
    clock: ManualClock,
    test_settings: Settings,
    fake_twilio: FakeTwilio,
    fake_graph: FakeGraph,
    s3_server: str,
    s3_bucket: str,
) -> AsyncIterator[Inbox]:
    changes = {"files_url": s3_bucket, "files_s3_endpoint_url": s3_server}
    async with inbox_with(clock, test_settings, fake_twilio, fake_graph, **changes) as inbox:
        yield inbox


async def test_r_media_an_inbound_file_over_the_size_cap_is_unavailable(
    db: str, clock: ManualClock, test_settings: Settings, fake_twilio: FakeTwilio, fake_graph: FakeGraph
) -> None:
    async with inbox_with(clock, test_settings, fake_twilio, fake_graph, max_inbound_file_bytes=len(PDF) - 1) as inbox:
        await customer_sends_media(inbox, PDF, "application/pdf", "big one")
        assert await copy_media() == 1
        row = await StoredFile.get()
        assert (row.state, row.attempts) == (FileState.UNAVAILABLE, 1)
        assert stored_paths() == []
        assert (await inbox.conversation(CUSTOMER))["messages"][-1]["text"] == "big one"


async def test_r_media_files_both_ways_on_s3_compatible_storage(
    s3_inbox: Inbox, s3_server: str, s3_bucket: str
) -> None:
    inbox = s3_inbox
    message = await customer_sends_media(inbox, PNG, "image/png")
    assert await copy_media() == 1
    conversation_id = (await inbox.conversation(CUSTOMER))["id"]
    file = await uploaded(inbox.api, inbox.admin.token)
    assert (await send(inbox, conversation_id, [file["id"]], "quote"))["data"]["sendMessage"]["status"] == "SENT"

    keys = await s3_keys(s3_server, s3_bucket)
    assert len(keys) == 2 and all(key.startswith("switchboard/") for key in keys)
    assert stored_paths() == []
    assert (await fetch(inbox, message["attachments"][0]["url"], inbox.admin.token)).content == PNG
    assert await fetched_by_provider(inbox, inbox.twilio.sent[-1]["media_url"]) == (200, "application/pdf", PDF)

    await inbox.api.data(
        "mutation($id: ID!) { deleteConversation(id: $id) }", {"id": conversation_id}, token=inbox.admin.token
    )

    assert await s3_keys(s3_server, s3_bucket) == []


async def test_r_media_uninstalling_an_app_removes_its_files(inbox: Inbox) -> None:
    await customer_sends_media(inbox, PNG, "image/png")
    await copy_media()
    kept = await uploaded(inbox.api, inbox.admin.token)  # not sent yet: no app's
    assert len(stored_paths()) == 2

    await inbox.api.data(
        "mutation($id: ID!) { uninstallMessagingApp(id: $id) }", {"id": inbox.whatsapp_id}, token=inbox.admin.token
    )
    await sweep()

    assert [path.read_bytes() for path in stored_paths()] == [PDF]
    assert await StoredFile.all().values_list("id", flat=True) == [pk_of("UploadedFile", kept["id"])]


async def test_r_media_a_copy_finishing_after_its_conversation_was_deleted_keeps_nothing(inbox: Inbox) -> None:
    await customer_sends_media(inbox, PNG, "image/png")
    conversation_id = (await inbox.conversation(CUSTOMER))["id"]
    row = await StoredFile.get()
    # the worker has claimed the copy (its lease) when the conversation is deleted and swept
    await StoredFile.filter(id=row.id).update(attempts=1, next_attempt_at=inbox.clock.now() + timedelta(minutes=2))
    await inbox.api.data(
        "mutation($id: ID!) { deleteConversation(id: $id) }", {"id": conversation_id}, token=inbox.admin.token
    )
    assert await StoredFile.all().count() == 0

    await copy_file(row, 1)  # then its fetch returns

    assert stored_paths() == []
