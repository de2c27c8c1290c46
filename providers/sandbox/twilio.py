"""Fake Twilio REST API on 127.0.0.1, speaking the real wire format, with simulated WhatsApp
customers who write in and whose phones report delivered/read.

The tests use it in place of Twilio and `switchboard demo` ships it, so a newcomer sees WhatsApp
conversations with no account anywhere.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from providers.sandbox.server import LoopbackServer, Progress, Rejection


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


CONTENT_HOST = "https://content.twilio.com"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


@dataclass
class FakeContent:
    """One Content API resource with its WhatsApp approval (approval: approved, pending, rejected, paused,
    disabled, received or unsubmitted; category: UTILITY, MARKETING or AUTHENTICATION)."""

    account_sid: str
    friendly_name: str
    body: str
    approval: str = "approved"
    category: str | None = "UTILITY"
    language: str = "en"
    sid: str = field(default_factory=lambda: _sid("HX"))
    content_type: str = "twilio/text"

    def placeholders(self) -> list[str]:
        return list(dict.fromkeys(_PLACEHOLDER.findall(self.body)))

    def rendered(self, values: dict[str, str]) -> str:
        return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), self.body)

    def as_json(self) -> dict[str, Any]:
        """As `GET /v1/ContentAndApprovals` lists it."""
        return {
            "sid": self.sid,
            "account_sid": self.account_sid,
            "friendly_name": self.friendly_name,
            "language": self.language,
            "variables": {key: f"sample {key}" for key in self.placeholders()},
            "types": {self.content_type: {"body": self.body}},
            "url": f"{CONTENT_HOST}/v1/Content/{self.sid}",
            "date_created": "2026-01-02T10:00:00Z",
            "date_updated": "2026-01-02T10:00:00Z",
            "approval_requests": {
                "name": self.friendly_name,
                "category": self.category,
                "status": self.approval,
                "rejection_reason": "Variable at the end" if self.approval == "rejected" else "",
                "content_type": self.content_type,
                "allow_category_change": True,
            },
        }


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
        self.contents: list[FakeContent] = []
        self.content_page_size = 50  # the most a Content API page holds here (Twilio's own cap is larger)
        self.content_requests: list[str] = []  # the Content API URLs asked for, in order
        self.content_rejections: list[tuple[int | None, Rejection]] = []  # (the page it answers, or any)
        self.content_delay = 0.0  # seconds each Content API page takes

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

    def reject_next_content(
        self, code: int, *, status: int = 400, message: str = "Rejected by the fake", page: int | None = None
    ) -> None:
        """The next Content API request (or the next one for page number `page`) answers with Twilio's error body."""
        body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}"}
        self.content_rejections.append((page, Rejection(status, {**body, "status": status})))

    def add_content(self, account_sid: str, friendly_name: str, body: str, **fields: Any) -> FakeContent:
        content = FakeContent(account_sid, friendly_name, body, **fields)
        self.contents.append(content)
        return content

    def reset(self) -> None:
        self.sent.clear()
        self.rejections.clear()
        self.media.clear()
        self.media_failures = 0
        self.media_requests.clear()
        self.contents.clear()
        self.content_requests.clear()
        self.content_rejections.clear()
        self.content_page_size = 50
        self.content_delay = 0.0

    def routes(self) -> list[Route]:
        return [
            Route("/2010-04-01/Accounts/{account_sid}/Messages.json", self._create, methods=["POST"]),
            Route(
                "/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}/Media/{media_sid}",
                self._media_redirect,
                methods=["GET"],
            ),
            Route("/media-content/{media_sid}", self._media_content, methods=["GET"]),
            Route("/v1/ContentAndApprovals", self._contents, methods=["GET"]),
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

    def _basic_user(self, request: Request) -> str | None:
        """The account SID of a valid Basic authorization, else None."""
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return None
        ok = scheme.lower() == "basic" and self.accounts.get(user) == password
        return user if ok else None

    async def _contents(self, request: Request) -> Response:
        """`GET /v1/ContentAndApprovals?PageSize=&Page=&PageToken=`: pages linked by meta.next_page_url."""
        self.content_requests.append(str(request.url))
        if self.content_delay:
            await asyncio.sleep(self.content_delay)
        account_sid = self._basic_user(request)
        if account_sid is None:
            return _error(20003, "Authenticate", status=401)
        try:
            size = min(int(request.query_params.get("PageSize", "50")), self.content_page_size)
            page = int(request.query_params.get("Page", "0"))
        except ValueError:
            return _error(20001, "Invalid paging parameter")
        for index, (for_page, rejection) in enumerate(self.content_rejections):
            if for_page is None or for_page == page:
                del self.content_rejections[index]
                return JSONResponse(rejection.body, status_code=rejection.status)
        mine = [content for content in self.contents if content.account_sid == account_sid]
        chunk = mine[page * size : (page + 1) * size]

        def page_url(number: int) -> str:
            query: dict[str, str | int] = {"PageSize": size, "Page": number}
            if number:
                query["PageToken"] = f"PT{number}"
            return f"{CONTENT_HOST}/v1/ContentAndApprovals?{urlencode(query)}"

        more = (page + 1) * size < len(mine)
        return JSONResponse(
            {
                "contents": [content.as_json() for content in chunk],
                "meta": {
                    "page": page,
                    "page_size": size,
                    "first_page_url": page_url(0),
                    "previous_page_url": page_url(page - 1) if page else None,
                    "url": page_url(page),
                    "next_page_url": page_url(page + 1) if more else None,
                    "key": "contents",
                },
            }
        )

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
        if len(media_urls) > 1:  # WhatsApp carries one media file per message
            return _error(21623, "Number of media files exceeds allowed limit")
        for key in ("To", "From"):
            if key not in form:
                return JSONResponse(
                    {"code": 21604 if key == "To" else 21603, "message": f"A '{key}' is required", "status": 400},
                    status_code=400,
                )
        if not form.get("Body") and not media_urls and "ContentSid" not in form:
            return _error(21619, "A text message body, media URL or content SID is required")
        if not str(form["To"]).startswith("whatsapp:+"):
            return _error(21211, f"The 'To' number {form['To']} is not valid.")
        body = str(form.get("Body", ""))
        template: dict[str, str] = {}
        if "ContentSid" in form:
            rendered = self._template(account_sid, form)
            if isinstance(rendered, Response):
                return rendered
            body = rendered
            template = {"content_sid": form["ContentSid"], "content_variables": form.get("ContentVariables", "")}
        sent = {
            "sid": _sid("SM"),
            "account_sid": account_sid,
            "to": str(form["To"]),
            "from": str(form["From"]),
            "body": body,
            "status": "queued",
            "status_callback": str(form.get("StatusCallback") or ""),
            **template,
            "num_media": str(len(media_urls)),
            # Twilio fetches each MediaUrl itself, later; the tests fetch it as Twilio would.
            "media_url": media_urls[0] if media_urls else "",
        }
        self.sent.append(sent)
        self._follow(sent)
        return JSONResponse(
            {
                **{k: v for k, v in sent.items() if k in ("sid", "account_sid", "to", "from", "body", "status")},
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sent['sid']}.json",
            },
            status_code=201,
        )

    def _template(self, account_sid: str, form: dict[str, str]) -> str | Response:
        """The text a template send renders to, or Twilio's refusal: an unknown ContentSid (21655),
        ContentVariables that are not a JSON object of strings or miss a placeholder (21656), a template
        WhatsApp has not approved (63027)."""
        content = next(
            (item for item in self.contents if item.sid == form["ContentSid"] and item.account_sid == account_sid), None
        )
        if content is None:
            return _error(21655, "The ContentSid is Invalid")
        try:
            values = json.loads(form.get("ContentVariables") or "{}")
        except ValueError:
            values = None
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            return _error(21656, "The ContentVariables Parameter is invalid")
        if any(not values.get(key) for key in content.placeholders()):
            return _error(21656, "The ContentVariables Parameter is invalid")
        if content.approval != "approved":
            return _error(63027, "Template does not exist for a language and locale")
        return content.rendered(values)

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


def _error(code: int, message: str, status: int = 400) -> JSONResponse:
    """Twilio's error body."""
    return JSONResponse(
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
        status_code=status,
    )


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
