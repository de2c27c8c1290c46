"""Fake Twilio REST API on 127.0.0.1, speaking the real wire format, with simulated WhatsApp
customers who write in and whose phones report delivered/read.

The tests use it in place of Twilio and `switchboard demo` ships it, so a newcomer sees WhatsApp
conversations with no account anywhere.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import Sequence
from urllib.parse import parse_qsl

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from providers.sandbox.server import LoopbackServer, Progress, Rejection


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
        # R-MEDIA: customers' media, served behind the account's Basic auth then redirected, as Twilio does.
        self.media: dict[str, tuple[bytes, str]] = {}
        self.media_failures = 0  # the next N downloads answer 503
        self.media_requests: list[str] = []

    def add_media(self, account_sid: str, data: bytes, content_type: str) -> str:
        """A customer's file: the MediaUrl Twilio puts in the inbound form."""
        media_sid = _sid("ME")
        self.media[media_sid] = (data, content_type)
        return f"{self.url}/2010-04-01/Accounts/{account_sid}/Messages/{_sid('MM')}/Media/{media_sid}"

    def add_account(self, account_sid: str, auth_token: str) -> None:
        self.accounts[account_sid] = auth_token

    def reject_next(self, code: int, *, status: int = 400, message: str = "Rejected by the fake") -> None:
        self.rejections.append(
            Rejection(
                status,
                {
                    "code": code,
                    "message": message,
                    "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    "status": status,
                },
            )
        )

    def reset(self) -> None:
        self.sent.clear()
        self.rejections.clear()
        self.media.clear()
        self.media_failures = 0
        self.media_requests.clear()

    def routes(self) -> list[Route]:
        return [
            Route("/2010-04-01/Accounts/{account_sid}/Messages.json", self._create, methods=["POST"]),
            Route(
                "/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}/Media/{media_sid}",
                self._media_redirect,
                methods=["GET"],
            ),
            Route("/media-content/{media_sid}", self._media_content, methods=["GET"]),
        ]

    async def _media_redirect(self, request: Request) -> Response:
        """Twilio answers a media URL with a redirect to short-lived storage elsewhere (no auth there)."""
        self.media_requests.append(request.url.path)
        if not self._authorised(request, request.path_params["account_sid"]):
            return JSONResponse(
                {
                    "code": 20003,
                    "message": "Authenticate",
                    "more_info": "https://www.twilio.com/docs/errors/20003",
                    "status": 401,
                },
                status_code=401,
            )
        if self.media_failures:
            self.media_failures -= 1
            return JSONResponse(
                {
                    "code": 20500,
                    "message": "Internal Server Error",
                    "more_info": "https://www.twilio.com/docs/errors/20500",
                    "status": 503,
                },
                status_code=503,
            )
        media_sid = request.path_params["media_sid"]
        if media_sid not in self.media:
            return JSONResponse(
                {
                    "code": 20404,
                    "message": f"The requested resource {request.url.path} was not found",
                    "more_info": "https://www.twilio.com/docs/errors/20404",
                    "status": 404,
                },
                status_code=404,
            )
        # Another origin (as Twilio's storage is): a client must not carry the Basic auth there.
        return Response(status_code=307, headers={"Location": f"{self.storage_url}/media-content/{media_sid}"})

    @property
    def storage_url(self) -> str:
        return f"http://localhost:{self.port}"

    async def _media_content(self, request: Request) -> Response:
        if request.headers.get("authorization"):  # the account's secret must never leave Twilio's origin
            return Response("credentials sent to the storage host", status_code=400)
        data, content_type = self.media[request.path_params["media_sid"]]
        return Response(data, media_type=content_type)

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
        pairs = parse_qsl((await request.body()).decode(), keep_blank_values=True)
        form = dict(pairs)
        media_urls = [value for key, value in pairs if key == "MediaUrl"]
        if self.rejections:
            rejection = self.rejections.pop(0)
            return JSONResponse(rejection.body, status_code=rejection.status)
        if not form.get("Body") and not media_urls:
            return JSONResponse(
                {
                    "code": 21619,
                    "message": "A text message body or media urls must be specified.",
                    "more_info": "https://www.twilio.com/docs/errors/21619",
                    "status": 400,
                },
                status_code=400,
            )
        if len(media_urls) > 1:  # WhatsApp carries one media file per message
            return JSONResponse(
                {
                    "code": 21623,
                    "message": "Number of media files exceeds allowed limit",
                    "more_info": "https://www.twilio.com/docs/errors/21623",
                    "status": 400,
                },
                status_code=400,
            )
        for key in ("To", "From"):
            if key not in form:
                return JSONResponse(
                    {"code": 21604 if key == "To" else 21603, "message": f"A '{key}' is required", "status": 400},
                    status_code=400,
                )
        if not str(form["To"]).startswith("whatsapp:+"):
            return JSONResponse(
                {"code": 21211, "message": f"The 'To' number {form['To']} is not valid.", "status": 400},
                status_code=400,
            )
        sent = {
            "sid": _sid("SM"),
            "account_sid": account_sid,
            "to": str(form["To"]),
            "from": str(form["From"]),
            "body": str(form.get("Body") or ""),
            "status": "queued",
            "status_callback": str(form.get("StatusCallback") or ""),
            "num_media": str(len(media_urls)),
            # Twilio fetches each MediaUrl itself, later; the tests fetch it as Twilio would.
            "media_url": media_urls[0] if media_urls else "",
        }
        self.sent.append(sent)
        self._follow(sent)
        return JSONResponse(
            {
                **{k: v for k, v in sent.items() if k not in ("status_callback", "media_url")},
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sent['sid']}.json",
            },
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

        self.in_background(run())

    async def callback(
        self,
        sid: str,
        status: str,
        *,
        error_code: str | None = None,
        error_message: str | None = None,
        url: str | None = None,
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

    async def post_signed(
        self, url: str, form: dict[str, str], auth_token: str, *, signed_url: str | None = None
    ) -> httpx.Response:
        signature = RequestValidator(auth_token).compute_signature(signed_url or url, form)
        return await self.webhooks.post(url, data=form, headers={"X-Twilio-Signature": signature})


def whatsapp_form(
    *,
    account_sid: str,
    to: str,
    sender: str,
    body: str = "",
    profile_name: str | None = "Customer",
    media: Sequence[tuple[str, str]] = (),
    sid: str | None = None,
    **extra: str,
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
