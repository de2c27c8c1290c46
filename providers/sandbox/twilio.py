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
            "body": str(form["Body"]),
            "status": "queued",
            "status_callback": str(form.get("StatusCallback") or ""),
        }
        self.sent.append(sent)
        self._follow(sent)
        return JSONResponse(
            {
                **{k: v for k, v in sent.items() if k != "status_callback"},
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
