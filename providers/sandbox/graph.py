"""Fake Graph API (Messenger) on 127.0.0.1, speaking the real wire format, with simulated customers
who write to the page and whose phones report delivered/read."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, TypedDict

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from providers.sandbox.server import LoopbackServer, Progress, Rejection
from providers.webhooks import sign as messenger_sign


class Sent(TypedDict):
    """A message the Send API accepted, as the fake keeps it."""

    mid: str
    psid: str
    text: str
    metadata: str | None
    at: int


@dataclass
class Page:
    page_id: str
    token: str
    app_secret: str
    webhook_url: str
    sent: list[Sent] = field(default_factory=list)


class FakeGraph(LoopbackServer):
    """The Send API (`POST /{version}/me/messages?access_token=`) and the profile API
    (`GET /{version}/{psid}`); page webhooks (messages, echoes, delivery, read) are POSTed signed."""

    def __init__(
        self, webhooks: httpx.AsyncClient | None = None, *, version: str = "v21.0", progress: Progress | None = None
    ) -> None:
        super().__init__()
        self.webhooks = webhooks or httpx.AsyncClient(timeout=10)
        self.version = version
        self.pages: dict[str, Page] = {}
        self.profiles: dict[str, dict[str, str]] = {}
        self.rejections: list[Rejection] = []
        self.profile_requests: list[str] = []
        self.attachment_urls: list[str] = []  # R-MEDIA: attachments sent by URL
        self.progress = progress or Progress()

    def add_page(self, page_id: str, token: str, app_secret: str, webhook_url: str) -> Page:
        page = Page(page_id, token, app_secret, webhook_url)
        self.pages[token] = page
        return page

    def page(self, page_id: str) -> Page:
        return next(page for page in self.pages.values() if page.page_id == page_id)

    def reject_next(
        self, code: int, *, subcode: int | None = None, status: int = 400, message: str = "Rejected by the fake"
    ) -> None:
        error: dict[str, Any] = {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": secrets.token_hex(6),
        }
        if subcode is not None:
            error["error_subcode"] = subcode
        self.rejections.append(Rejection(status, {"error": error}))

    def reset(self) -> None:
        self.rejections.clear()
        self.profile_requests.clear()
        self.attachment_urls.clear()
        self.profiles.clear()
        for page in self.pages.values():
            page.sent.clear()

    def routes(self) -> list[Route]:
        return [
            Route(f"/{self.version}/me/messages", self._send, methods=["POST"]),
            Route(f"/{self.version}/{{psid}}", self._profile, methods=["GET"]),
        ]

    @staticmethod
    def _error(code: int, message: str, status: int = 400, subcode: int | None = None) -> JSONResponse:
        error: dict[str, Any] = {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": secrets.token_hex(6),
        }
        if subcode:
            error["error_subcode"] = subcode
        return JSONResponse({"error": error}, status_code=status)

    async def _send(self, request: Request) -> Response:
        page = self.pages.get(request.query_params.get("access_token", ""))
        if page is None:
            return self._error(190, "Invalid OAuth access token - Cannot parse access token")
        if self.rejections:
            rejection = self.rejections.pop(0)
            return JSONResponse(rejection.body, status_code=rejection.status)
        try:
            body = json.loads(await request.body())
            psid = str(body["recipient"]["id"])
            attachment = body["message"].get("attachment")
            text = body["message"]["text"] if attachment is None else ""
            url = attachment["payload"]["url"] if attachment is not None else None
            if attachment is not None and attachment["type"] not in ("image", "audio", "video", "file"):
                raise ValueError(attachment["type"])
        except (ValueError, KeyError, TypeError):
            return self._error(100, "(#100) Invalid parameter")
        if url is not None:
            if not url.startswith(("http://", "https://")):
                return self._error(100, "(#100) Failed to fetch the file from the url", subcode=2018008)
            self.attachment_urls.append(url)  # Graph fetches it; the tests fetch it as Graph would
        metadata = body["message"].get("metadata") or body.get("metadata")
        sent: Sent = {
            "mid": "m_" + secrets.token_urlsafe(24),
            "psid": psid,
            "text": text,
            "metadata": metadata,
            "at": int(time.time() * 1000),
        }
        page.sent.append(sent)
        self._follow(page, sent)
        return JSONResponse({"recipient_id": psid, "message_id": sent["mid"]})

    async def _profile(self, request: Request) -> Response:
        psid = request.path_params["psid"]
        self.profile_requests.append(psid)
        if request.query_params.get("access_token") not in self.pages:
            return self._error(190, "Invalid OAuth access token")
        profile = self.profiles.get(psid)
        if profile is None:
            return self._error(100, "(#100) No profile available for that user.", subcode=2018218)
        return JSONResponse({**profile, "id": psid})

    def _follow(self, page: Page, sent: Sent) -> None:
        if self.progress.delivered_after is None and self.progress.read_after is None:
            return

        async def run() -> None:
            await self.echo(page.page_id, sent["mid"])
            if self.progress.delivered_after is not None:
                await asyncio.sleep(self.progress.delivered_after)
                await self.delivery(page.page_id, sent["psid"], watermark=int(time.time() * 1000), mids=[sent["mid"]])
            if self.progress.read_after is not None:
                await asyncio.sleep(self.progress.read_after)
                await self.read(page.page_id, sent["psid"], watermark=int(time.time() * 1000))

        self.in_background(run())

    # ---- page webhooks, as Facebook delivers them

    async def post_events(
        self, page_id: str, events: list[dict[str, Any]], *, raw: bytes | None = None, signature: str | None = None
    ) -> httpx.Response:
        page = self.page(page_id)
        body = (
            raw
            if raw is not None
            else json.dumps(
                {"object": "page", "entry": [{"id": page_id, "time": int(time.time() * 1000), "messaging": events}]}
            ).encode()
        )
        headers = {"Content-Type": "application/json"}
        signature = messenger_sign(page.app_secret, body) if signature is None else signature
        if signature:
            headers["X-Hub-Signature-256"] = signature
        return await self.webhooks.post(page.webhook_url, content=body, headers=headers)

    @staticmethod
    def message_event(
        page_id: str,
        psid: str,
        text: str | None = None,
        *,
        mid: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
        at: int | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"mid": mid or "m_" + secrets.token_urlsafe(24)}
        if text is not None:
            message["text"] = text
        if attachments:
            message["attachments"] = attachments
        at = at or int(time.time() * 1000)
        return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": at, "message": message}

    async def customer_writes(self, page_id: str, psid: str, text: str, **options: Any) -> httpx.Response:
        return await self.post_events(page_id, [self.message_event(page_id, psid, text, **options)])

    async def echo(self, page_id: str, mid: str) -> httpx.Response:
        """The echo Facebook sends the page for a message the Send API accepted."""
        page = self.page(page_id)
        sent = next(item for item in page.sent if item["mid"] == mid)
        message = {"mid": mid, "is_echo": True, "app_id": 1517776481860111, "text": sent["text"]}
        if sent["metadata"]:
            message["metadata"] = sent["metadata"]
        event = {
            "sender": {"id": page_id},
            "recipient": {"id": sent["psid"]},
            "timestamp": sent["at"],
            "message": message,
        }
        return await self.post_events(page_id, [event])

    async def delivery(
        self, page_id: str, psid: str, *, watermark: int, mids: list[str] | None = None
    ) -> httpx.Response:
        delivery: dict[str, Any] = {"watermark": watermark}
        if mids:
            delivery["mids"] = mids
        event = {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": watermark, "delivery": delivery}
        return await self.post_events(page_id, [event])

    async def read(self, page_id: str, psid: str, *, watermark: int) -> httpx.Response:
        event = {
            "sender": {"id": psid},
            "recipient": {"id": page_id},
            "timestamp": watermark,
            "read": {"watermark": watermark},
        }
        return await self.post_events(page_id, [event])
