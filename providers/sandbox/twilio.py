"""Fake Twilio REST and Graph API servers on 127.0.0.1, speaking the real wire formats, with
simulated customers who write in and whose phones report delivered/read.

The tests use them in place of the providers and `switchboard demo` ships them, so a newcomer sees
WhatsApp and Messenger conversations with no account anywhere.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from urllib.parse import parse_qsl
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from providers.webhooks import sign as messenger_sign


class LoopbackServer:
    """A Starlette app served by uvicorn on 127.0.0.1 inside the running event loop.
    `stop()` then `start()` again keeps the port: that is how a test takes the provider down."""

    def __init__(self) -> None:
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def routes(self) -> list[Route]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        config = uvicorn.Config(Starlette(routes=self.routes()), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None


@dataclass
class Rejection:
    status: int
    body: dict[str, Any]


@dataclass
class Progress:
    """How a simulated phone reports a message it got: statuses after these delays (seconds)."""

    delivered_after: float | None = None
    read_after: float | None = None


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


class FakeTwilio(LoopbackServer):
    """`POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with Basic auth, 201 JSON with a sid;
    status callbacks and customers' messages are POSTed, signed, through `webhooks`."""

    def __init__(self, webhooks: httpx.AsyncClient | None = None, *, progress: Progress | None = None) -> None:
        super().__init__()
        self.webhooks = webhooks or httpx.AsyncClient(timeout=10)
        self.accounts: dict[str, str] = {}
        self.sent: list[dict[str, str]] = []
        self.rejections: list[Rejection] = []
        self.progress = progress or Progress()
        self._timers: set[asyncio.Task[None]] = set()

    def add_account(self, account_sid: str, auth_token: str) -> None:
        self.accounts[account_sid] = auth_token

    def reject_next(self, code: int, *, status: int = 400, message: str = "Rejected by the fake") -> None:
        self.rejections.append(
            Rejection(status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status})
        )

    def reset(self) -> None:
        self.sent.clear()
        self.rejections.clear()

    def routes(self) -> list[Route]:
        return [Route("/2010-04-01/Accounts/{account_sid}/Messages.json", self._create, methods=["POST"])]

    def _authorised(self, request: Request, account_sid: str) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return False
        return scheme.lower() == "basic" and user == account_sid and self.accounts.get(account_sid) == password

    async def _create(self, request: Request) -> Response:
        account_sid = request.path_params["account_sid"]
        if not self._authorised(request, account_sid):
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, status_code=401)
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        if self.rejections:
            rejection = self.rejections.pop(0)
            return JSONResponse(rejection.body, status_code=rejection.status)
        for key in ("To", "From", "Body"):
            if key not in form:
                return JSONResponse({"code": 21604 if key == "To" else 21603, "message": f"A '{key}' is required", "status": 400}, status_code=400)
        if not str(form["To"]).startswith("whatsapp:+"):
            return JSONResponse({"code": 21211, "message": f"The 'To' number {form['To']} is not valid.", "status": 400}, status_code=400)
        sent = {
            "sid": _sid("SM"),
            "account_sid": account_sid,
            "to": str(form["To"]),
            "from": str(form["From"]),
            "body": str(form["Body"]),
            "status": "queued",
            "status_callback": str(form.get("StatusCallback") or ""),
        }
        self.sent.append(sent)
        self._follow(sent)
        return JSONResponse(
            {**{k: v for k, v in sent.items() if k != "status_callback"}, "num_segments": "1", "direction": "outbound-api",
             "api_version": "2010-04-01", "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sent['sid']}.json"},
            status_code=201,
        )

    def _follow(self, sent: dict[str, str]) -> None:
        steps = [(0.0, "sent")]
        if self.progress.delivered_after is not None:
            steps.append((self.progress.delivered_after, "delivered"))
        if self.progress.read_after is not None:
            steps.append((self.progress.read_after, "read"))
        if self.progress.delivered_after is None and self.progress.read_after is None:
            return  # tests drive callbacks themselves, in the order they choose

        async def run() -> None:
            for delay, status in steps:
                await asyncio.sleep(delay)
                await self.callback(sent["sid"], status)

        task = asyncio.create_task(run())
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    async def callback(
        self, sid: str, status: str, *, error_code: str | None = None, error_message: str | None = None, url: str | None = None
    ) -> httpx.Response:
        """Twilio's status callback for a message it accepted (`url` defaults to its StatusCallback)."""
        sent = next(item for item in self.sent if item["sid"] == sid)
        form = {
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": status,
            "MessageStatus": status,
            "AccountSid": sent["account_sid"],
            "From": sent["from"],
            "To": sent["to"],
            "ApiVersion": "2010-04-01",
            "ChannelPrefix": "whatsapp",
        }
        if error_code:
            form["ErrorCode"] = error_code
            if error_message:
                form["ErrorMessage"] = error_message
        return await self.post_signed(url or sent["status_callback"], form, self.accounts[sent["account_sid"]])

    async def post_signed(self, url: str, form: dict[str, str], auth_token: str, *, signed_url: str | None = None) -> httpx.Response:
        signature = RequestValidator(auth_token).compute_signature(signed_url or url, form)
        return await self.webhooks.post(url, data=form, headers={"X-Twilio-Signature": signature})


def whatsapp_form(
    *, account_sid: str, to: str, sender: str, body: str = "", profile_name: str | None = "Customer",
    media: list[tuple[str, str]] = (), sid: str | None = None, **extra: str,
) -> dict[str, str]:
    """The form Twilio POSTs for an inbound WhatsApp message from `sender` (+E.164)."""
    sid = sid or _sid("MM" if media else "SM")
    form = {
        "SmsMessageSid": sid,
        "NumMedia": str(len(media)),
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": f"whatsapp:{to}",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": f"whatsapp:{sender}",
        "ApiVersion": "2010-04-01",
        "WaId": sender.lstrip("+"),
        "MessageType": "image" if media else "text",
        "ChannelPrefix": "whatsapp",
    }
    if profile_name:
        form["ProfileName"] = profile_name
    for index, (url, content_type) in enumerate(media):
        form[f"MediaUrl{index}"] = url
        form[f"MediaContentType{index}"] = content_type
    form.update(extra)
    return form


@dataclass
class Page:
    page_id: str
    token: str
    app_secret: str
    webhook_url: str
    sent: list[dict[str, Any]] = field(default_factory=list)


class FakeGraph(LoopbackServer):
    """The Send API (`POST /{version}/me/messages?access_token=`) and the profile API
    (`GET /{version}/{psid}`); page webhooks (messages, echoes, delivery, read) are POSTed signed."""

    def __init__(self, webhooks: httpx.AsyncClient | None = None, *, version: str = "v21.0", progress: Progress | None = None) -> None:
        super().__init__()
        self.webhooks = webhooks or httpx.AsyncClient(timeout=10)
        self.version = version
        self.pages: dict[str, Page] = {}
        self.profiles: dict[str, dict[str, str]] = {}
        self.rejections: list[Rejection] = []
        self.profile_requests: list[str] = []
        self.progress = progress or Progress()
        self._timers: set[asyncio.Task[None]] = set()

    def add_page(self, page_id: str, token: str, app_secret: str, webhook_url: str) -> Page:
        page = Page(page_id, token, app_secret, webhook_url)
        self.pages[token] = page
        return page

    def page(self, page_id: str) -> Page:
        return next(page for page in self.pages.values() if page.page_id == page_id)

    def reject_next(self, code: int, *, subcode: int | None = None, status: int = 400, message: str = "Rejected by the fake") -> None:
        error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": secrets.token_hex(6)}
        if subcode is not None:
            error["error_subcode"] = subcode
        self.rejections.append(Rejection(status, {"error": error}))

    def reset(self) -> None:
        self.rejections.clear()
        self.profile_requests.clear()
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
        error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": secrets.token_hex(6)}
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
            text = body["message"]["text"]
        except (ValueError, KeyError, TypeError):
            return self._error(100, "(#100) Invalid parameter")
        metadata = body["message"].get("metadata") or body.get("metadata")
        sent = {"mid": "m_" + secrets.token_urlsafe(24), "psid": psid, "text": text, "metadata": metadata, "at": int(time.time() * 1000)}
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

    def _follow(self, page: Page, sent: dict[str, Any]) -> None:
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

        task = asyncio.create_task(run())
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    # ---- page webhooks, as Facebook delivers them

    async def post_events(self, page_id: str, events: list[dict[str, Any]], *, raw: bytes | None = None, signature: str | None = None) -> httpx.Response:
        page = self.page(page_id)
        body = raw if raw is not None else json.dumps(
            {"object": "page", "entry": [{"id": page_id, "time": int(time.time() * 1000), "messaging": events}]}
        ).encode()
        headers = {"Content-Type": "application/json"}
        signature = messenger_sign(page.app_secret, body) if signature is None else signature
        if signature:
            headers["X-Hub-Signature-256"] = signature
        return await self.webhooks.post(page.webhook_url, content=body, headers=headers)

    @staticmethod
    def message_event(page_id: str, psid: str, text: str | None = None, *, mid: str | None = None,
                      attachments: list[dict[str, Any]] | None = None, at: int | None = None) -> dict[str, Any]:
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
        event = {"sender": {"id": page_id}, "recipient": {"id": sent["psid"]}, "timestamp": sent["at"], "message": message}
        return await self.post_events(page_id, [event])

    async def delivery(self, page_id: str, psid: str, *, watermark: int, mids: list[str] | None = None) -> httpx.Response:
        delivery: dict[str, Any] = {"watermark": watermark}
        if mids:
            delivery["mids"] = mids
        event = {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": watermark, "delivery": delivery}
        return await self.post_events(page_id, [event])

    async def read(self, page_id: str, psid: str, *, watermark: int) -> httpx.Response:
        event = {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": watermark, "read": {"watermark": watermark}}
        return await self.post_events(page_id, [event])
