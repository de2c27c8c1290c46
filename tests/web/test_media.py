"""R-MEDIA in the inbox web app: attaching a file to a reply, a customer's image shown inline and
their other files as download links, each fetched with the user's token."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from playwright.async_api import expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from resolvers.files import copy_due_media
from tests.files_support import PDF, PNG
from tests.support import ApiApp, Person
from tests.web.conftest import Delivery, Server, serve
from tests.web.test_inbox_app import needs, team  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database", ["sqlite"], indirect=True)]


async def media(request: Request) -> Response:
    """A partner's media host: what the API channel's attachment URLs point at."""
    if request.path_params["name"] == "photo.png":
        return Response(PNG, media_type="image/png")
    return Response(
        PDF, media_type="application/pdf", headers={"Content-Disposition": 'attachment; filename="terms.pdf"'}
    )


async def test_r_media_images_inline_other_files_as_links_and_a_file_attached_to_a_reply(
    open_inbox, team: tuple[Person, Person, ApiApp], delivery: Delivery, server: Server, tmp_path: Path
) -> None:
    needs("Mutation", "uploadFile", "files are attached through it")
    ana, _, app = team
    # given Carla sent a photo and a PDF, copied into the file store after the webhook answered
    async with serve(Starlette(routes=[Route("/{name}", media)])) as host:
        payload = {
            "messageId": "m-1",
            "sender": {"id": "cust-1", "name": "Carla Cliente"},
            "text": "Here you go",
            "attachments": [
                {"url": f"{host}/photo.png", "contentType": "image/png"},
                {"url": f"{host}/terms.pdf", "contentType": "application/pdf"},
            ],
        }
        assert (await app.post(json.dumps(payload).encode())).status_code == 200
        assert await copy_due_media() == 2
    ana_inbox = await open_inbox(ana)
    page = ana_inbox.page
    await ana_inbox.open_conversation("Carla Cliente")

    # then the photo is shown inline and the PDF is a download link
    inbound = page.locator("#messages li.inbound", has_text="Here you go")
    image = inbound.locator("img.attachment-image")
    await expect(image).to_have_attribute("src", re.compile(r"^blob:"))
    assert await image.evaluate("img => img.decode().then(() => img.naturalWidth)") == 1  # a decoded picture
    link = inbound.locator("a.attachment-download")
    await expect(link).to_have_text("terms.pdf")
    async with page.expect_download() as downloading:
        await link.click()
    download = await downloading.value
    assert download.suggested_filename == "terms.pdf"
    assert await asyncio.to_thread(Path(await download.path()).read_bytes) == PDF

    # when Ana attaches a PDF to her reply
    quote = tmp_path / "quote.pdf"
    await asyncio.to_thread(quote.write_bytes, PDF)
    await page.locator("#reply-file").set_input_files(str(quote))
    await expect(page.locator("#reply-file-name")).to_have_text("quote.pdf")
    await page.get_by_label("Reply").fill("Our quote")
    await ana_inbox.button("Send").click()

    # then it is sent with the file, shown as a link in the thread
    reply = page.locator("#messages li.outbound", has_text="Our quote")
    await expect(reply.locator("a.attachment-download")).to_have_text("quote.pdf")
    await expect(page.locator("#reply-file-name")).to_have_text("")
    sent = await delivery.next()
    assert sent["text"] == "Our quote"
    [attachment] = sent["attachments"]
    assert (attachment["filename"], attachment["contentType"]) == ("quote.pdf", "application/pdf")
    got = await server.api.http.get(attachment["url"].replace("https://inbox.example.test", ""))
    assert got.content == PDF
