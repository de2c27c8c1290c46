"""WhatsApp by Twilio (docs/providers.md, "WhatsApp by Twilio"): signed form webhooks in, REST sends out."""

from __future__ import annotations

import base64
import functools
import hmac
import json
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlparse

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import add_port, remove_port
from twilio.rest import Client

from models import Attachment, DeliveryStatus, MessagingApp, Provider, TemplateCategory, TemplateStatus
from providers.webhooks import load_app, web_attachments
from resolvers.delivery import Outbound, SendResult, StatusUpdate
from resolvers.errors import ProviderError, ValidationFailed
from resolvers.ids import to_api_id
from resolvers.ingest import receive, receive_status
from resolvers.messages import InboundMessage
from resolvers.replies import local_message_pk
from resolvers.templates import UpstreamTemplate
from resolvers.text import clean, clean_text
from settings import get_settings

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
MAX_MEDIA = 10
WHATSAPP_NUMBER = re.compile(r"^whatsapp:(\+[1-9]\d{6,14})$")

STATUSES: dict[str, DeliveryStatus] = {
    # Twilio holds it: accepted, which is what SENT means here.
    "queued": DeliveryStatus.SENT,
    "accepted": DeliveryStatus.SENT,
    "scheduled": DeliveryStatus.SENT,
    "sending": DeliveryStatus.SENT,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
    "undelivered": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}

# Codes worth a clear message (the rest keep Twilio's own text).
ERRORS: dict[str, str] = {
    "21211": "The contact's number is not a valid phone number.",
    "63007": "Twilio has no WhatsApp channel for the sending number.",
    "63016": "Outside the 24-hour WhatsApp window: only approved templates can be sent.",
    "63018": "WhatsApp rate limit reached for this number; try again later.",
    "63021": "WhatsApp refused the message's content.",
    "20003": "Twilio refused the app's credentials (account SID or auth token).",
    "21655": "Twilio does not know the template (ContentSid): sync the app's templates.",
    "21656": "Twilio refused the template's values (ContentVariables).",
    "63005": "WhatsApp did not accept the template's content.",
    "63027": "The template does not exist for this language on WhatsApp (not approved, or removed).",
}

CONTENT_API = "https://content.twilio.com"
PAGE_SIZE = 100  # templates per Content API page
MAX_PAGES = 200  # a provider listing pages without end must not hold the sync forever

# Content API approval statuses (approval_requests.status) as ours: anything not yet decided is PENDING.
TEMPLATE_STATUSES: dict[str, TemplateStatus] = {
    "approved": TemplateStatus.APPROVED,
    "rejected": TemplateStatus.REJECTED,
    "paused": TemplateStatus.PAUSED,
    "disabled": TemplateStatus.DISABLED,
    "pending": TemplateStatus.PENDING,
    "received": TemplateStatus.PENDING,
    "unsubmitted": TemplateStatus.PENDING,
}


def twiml() -> Response:
    return Response(EMPTY_TWIML, media_type="text/xml")


# ---- webhooks in


def public_url(request: Request) -> str:
    """The URL Twilio was configured with: PUBLIC_BASE_URL, never the request's own scheme/host."""
    query = request.url.query
    return get_settings().public_base_url + request.url.path + (f"?{query}" if query else "")


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """The form's (name, value) pairs, as sent: Twilio signs them so."""
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed("The body is not a URL-encoded form.") from None


@functools.lru_cache(maxsize=256)
def _signed_urls(url: str) -> tuple[bytes, bytes]:
    """`url` without and with its port: Twilio signs either (twilio's `RequestValidator.validate`
    accepts both, with its own `remove_port` and `add_port`). Remembered: the URL is the app's."""
    parsed = urlparse(url)
    return remove_port(parsed).encode(), add_port(parsed).encode()


def signature_ok(auth_token: str, url: str, form: list[tuple[str, str]], signature: str | None) -> bool:
    """X-Twilio-Signature, exactly as twilio's `RequestValidator.validate(url, form, signature)` checks
    it: base64 HMAC-SHA1 (the auth token as key) of the URL, then each name in order followed by each
    of its distinct values in order. Here in one pass over the form, the names and values joined
    once for both forms of the URL (the validator rebuilds them for each, and parses the URL twice)."""
    # (a non-ASCII header cannot be a base64 signature, and compare_digest refuses non-ASCII text)
    if not signature or not signature.isascii():
        return False
    values: dict[str, set[str]] = {}
    for name, value in form:
        values.setdefault(name, set()).add(value)
    signed = "".join([name + value for name in sorted(values) for value in sorted(values[name])]).encode()
    key, expected = auth_token.encode(), signature.encode()
    return any(
        hmac.compare_digest(base64.b64encode(hmac.digest(key, prefix + signed, "sha1")), expected)
        for prefix in _signed_urls(url)
    )


def _media(form: Mapping[str, str]) -> list[Attachment]:
    declared = form.get("NumMedia", "")
    count = min(int(declared), MAX_MEDIA) if declared.isdigit() else MAX_MEDIA
    found: list[Attachment] = [
        {"url": form[f"MediaUrl{i}"], "contentType": form.get(f"MediaContentType{i}") or None}
        for i in range(count)
        if form.get(f"MediaUrl{i}")
    ]
    if declared.isdigit() and int(declared) > len(found):
        log.warning("twilio: NumMedia=%s but %d media given", declared, len(found))
    return found


def _location(form: Mapping[str, str]) -> str | None:
    latitude, longitude = form.get("Latitude"), form.get("Longitude")
    if not latitude or not longitude:
        return None
    place = ", ".join(part for part in (form.get("Label"), form.get("Address")) if part)
    return f"Location: {place + ' ' if place else ''}({latitude}, {longitude})"


def message_sid(form: Mapping[str, str]) -> str:
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid") or ""
    if not 1 <= len(sid) <= 64:
        raise ValidationFailed("MessageSid is missing or malformed.", field="MessageSid")
    return sid


def parse_inbound(app: MessagingApp, form: Mapping[str, str]) -> InboundMessage:
    sender = WHATSAPP_NUMBER.match(form.get("From", ""))
    if sender is None:
        raise ValidationFailed("From must be a WhatsApp number: whatsapp:+<E.164>.", field="From")
    text = form.get("Body") or form.get("ButtonText") or form.get("ButtonPayload") or None
    location = _location(form)
    if location:
        text = f"{text}\n{location}" if text else location
    attachments = web_attachments(app, _media(form))
    if not text and not attachments and form.get("MessageType"):
        text = f"[{form['MessageType']} message]"  # a kind we cannot show is still a message the team must see
    return InboundMessage(
        app_id=app.id,
        account_id=app.account_id,
        provider_message_id=message_sid(form),
        contact_external_id=sender.group(1),
        contact_name=form.get("ProfileName") or None,
        text=text,
        attachments=attachments,
    )


def parse_status(app_id: int, form: Mapping[str, str], local_id: str | None) -> StatusUpdate | None:
    """None for a status we do not track (received, receiving, …)."""
    status = STATUSES.get(form.get("MessageStatus", "").lower())
    if status is None:
        return None
    code = form.get("ErrorCode") or None
    return StatusUpdate(
        app_id=app_id,
        status=status,
        provider_message_id=message_sid(form),
        message_pk=local_message_pk(local_id),
        error_code=code,
        error_message=(ERRORS.get(code) or form.get("ErrorMessage") or None) if code else None,
    )


async def _verified_form(request: Request) -> tuple[MessagingApp, dict[str, str]] | Response:
    app, credentials = await load_app(request, Provider.TWILIO_WHATSAPP)
    signature = request.headers.get("x-twilio-signature")
    if not signature:
        log.warning("twilio app %s: no signature", app.id)
        return JSONResponse({"error": "missing signature"}, status_code=403)
    try:
        form = parse_form(await request.body())
    except ValidationFailed as error:
        log.warning("twilio app %s: %s", app.id, error.message)
        return JSONResponse({"error": error.message}, status_code=400)
    if not signature_ok(credentials["authToken"], public_url(request), form, signature):
        log.warning("twilio app %s: bad signature for %s", app.id, public_url(request))
        return JSONResponse({"error": "bad signature"}, status_code=403)
    # cleaned only now: Twilio signs the values as it sent them (`clean_text` on each name and value is
    # what `clean` does to a form, without its walk through the containers: this runs on every webhook).
    # A name given twice keeps its last value, as a MultiDict read by name does.
    return app, {clean_text(name): clean_text(value) for name, value in form}


async def _status(app: MessagingApp, form: Mapping[str, str], local_id: str | None) -> Response:
    try:
        update = parse_status(app.id, form, local_id)
    except ValidationFailed as error:
        log.warning("twilio app %s: status callback refused: %s", app.id, error.message)
        return JSONResponse({"error": error.message}, status_code=400)
    if update is None:
        log.info("twilio app %s: status %r of %s ignored", app.id, form.get("MessageStatus"), form.get("MessageSid"))
    elif not await receive_status(update):
        log.warning(
            "twilio app %s: status %s for unknown message %s", app.id, update.status, update.provider_message_id
        )
    return twiml()


async def inbound(request: Request) -> Response:
    return await _webhook(request, status_url=False)


async def status(request: Request) -> Response:
    return await _webhook(request, status_url=True)


async def _webhook(request: Request, *, status_url: bool) -> Response:
    verified = await _verified_form(request)
    if isinstance(verified, Response):
        return verified
    app, form = verified
    # a status callback also arrives at the inbound URL: it has MessageStatus and no Body
    if status_url or ("MessageStatus" in form and "Body" not in form):
        return await _status(app, form, request.query_params.get("message"))
    try:
        inbound = parse_inbound(app, form)
        received = await receive(inbound)
    except ValidationFailed as error:
        log.warning("twilio app %s: message refused: %s", app.id, error.message)
        return JSONResponse({"error": error.message}, status_code=400)
    if received.duplicate:
        log.info("twilio app %s: duplicate %s", app.id, inbound.provider_message_id)
    return twiml()


routes = [
    Route("/webhooks/twilio/{app_id}", inbound, methods=["POST"]),
    Route("/webhooks/twilio/{app_id}/status", status, methods=["POST"]),
]


# ---- sending


class TwilioHttpClient(AsyncHttpClient):  # type: ignore[misc]  # twilio ships no type hints: its classes are Any
    """The twilio package's async client interface on httpx, aimed at TWILIO_API_BASE_URL."""

    def __init__(
        self, base_url: str, *, timeout: httpx.Timeout | float = 15.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(logger=log, is_async=True, timeout=None)
        self.base = httpx.URL(base_url)
        self.client = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def request(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109  # the name is twilio's: it calls request(..., timeout=...)
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        target = httpx.URL(url)
        if not self.base.host.endswith(".twilio.com"):  # a fake: every Twilio host (api., content.) goes there
            target = target.copy_with(
                scheme=self.base.scheme,
                host=self.base.host,
                port=self.base.port,
                path=self.base.path.rstrip("/") + target.path,
            )
        response = await self.client.request(
            method,
            target,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            follow_redirects=allow_redirects,
            timeout=timeout or httpx.USE_CLIENT_DEFAULT,
        )
        return TwilioResponse(response.status_code, response.text, response.headers)

    async def close(self) -> None:
        await self.client.aclose()


def status_callback_url(app_id: int, message_id: int) -> str:
    """Carries our id, so a callback that overtakes the 201 still finds its message."""
    path = f"/webhooks/twilio/{to_api_id('MessagingApp', app_id)}/status"
    return f"{get_settings().public_base_url}{path}?message={to_api_id('Message', message_id)}"


class TwilioChannel:
    def __init__(self, http: TwilioHttpClient, public_base_url: str) -> None:
        self.http = http
        self.public_base_url = public_base_url

    async def send(self, outbound: Outbound) -> SendResult:
        credentials = outbound.credentials
        client = Client(credentials["accountSid"], credentials["authToken"], http_client=self.http)
        content: dict[str, str] = {"body": outbound.message.text or ""}
        if outbound.template is not None:  # R-TEMPLATE: Twilio renders the template from its values
            content = {
                "content_sid": outbound.template.external_id,
                "content_variables": json.dumps(outbound.message.template_variables or {}),
            }
        try:
            sent = await client.messages.create_async(
                from_=f"whatsapp:{credentials['fromNumber']}",
                to=f"whatsapp:{outbound.contact.external_id}",
                media_url=[file.url for file in outbound.files] or None,  # R-MEDIA: Twilio fetches each
                status_callback=status_callback_url(outbound.app.id, outbound.message.id),
                **content,
            )
        except httpx.HTTPError as error:
            return SendResult(error_message=f"Twilio unreachable: {type(error).__name__}", retry=True)
        except (TwilioRestException, TwilioServiceException) as error:
            code = str(error.code or error.status)
            detail = getattr(error, "msg", None) or getattr(error, "detail", None) or getattr(error, "title", "")
            return SendResult(
                error_code=clean(code),
                error_message=ERRORS.get(code) or clean(str(detail)),
                retry=error.status >= 500 or error.status == 429,
            )
        except TwilioException as error:
            return SendResult(error_code="TWILIO", error_message=clean(str(error)))
        return SendResult(provider_message_id=clean(sent.sid))


# ---- templates (R-TEMPLATE)


def _template_body(types: Mapping[str, Any]) -> str:
    """The text a contact reads: twilio/text's body, else the first content type that has one."""
    ordered = [types.get("twilio/text"), *types.values()]
    for kind in ordered:
        if isinstance(kind, Mapping) and isinstance(kind.get("body"), str):
            return str(kind["body"])
    return ""


def _category(value: object) -> TemplateCategory | None:
    try:
        return TemplateCategory(str(value or "").upper())
    except ValueError:
        return None


def upstream_template(item: Mapping[str, Any]) -> UpstreamTemplate | None:
    """One ContentAndApprovals entry as ours; None for one without a sid."""
    sid = item.get("sid")
    if not isinstance(sid, str) or not sid:
        return None
    approval = item.get("approval_requests")
    approval = approval if isinstance(approval, Mapping) else {}
    types = item.get("types")
    status = TEMPLATE_STATUSES.get(str(approval.get("status") or "unsubmitted").lower(), TemplateStatus.PENDING)
    return UpstreamTemplate(
        external_id=clean(sid)[:64],
        name=clean(str(approval.get("name") or item.get("friendly_name") or sid))[:512],
        language=clean(str(item.get("language") or ""))[:32],
        category=_category(approval.get("category")),
        status=status,
        body=clean(_template_body(types if isinstance(types, Mapping) else {})),
    )


class TwilioTemplates:
    """The Content API's `GET /v1/ContentAndApprovals`, page after page by `meta.next_page_url`."""

    def __init__(self, http: TwilioHttpClient) -> None:
        self.http = http

    async def fetch(self, credentials: Mapping[str, str]) -> list[UpstreamTemplate]:
        auth = (credentials["accountSid"], credentials["authToken"])
        url: str | None = f"{CONTENT_API}/v1/ContentAndApprovals?PageSize={PAGE_SIZE}"
        found: list[UpstreamTemplate] = []
        for _ in range(MAX_PAGES):
            if not url:
                return found
            page = await self._page(url, auth)
            contents = page.get("contents")
            found.extend(
                template
                for template in map(upstream_template, contents if isinstance(contents, list) else [])
                if template is not None
            )
            meta = page.get("meta")
            url = meta.get("next_page_url") if isinstance(meta, Mapping) else None
            if url is not None and not isinstance(url, str):
                url = None
        raise ProviderError(f"Twilio listed more than {MAX_PAGES} pages of templates.", providerCode="TOO_MANY_PAGES")

    async def _page(self, url: str, auth: tuple[str, str]) -> Mapping[str, Any]:
        try:
            response = await self.http.request("GET", url, auth=auth, headers={"Accept": "application/json"})
        except httpx.HTTPError as error:
            raise ProviderError(
                f"Twilio unreachable: {type(error).__name__}", providerCode="PROVIDER_UNREACHABLE"
            ) from None
        try:
            body = json.loads(response.text)
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            refusal = body if isinstance(body, dict) else {}
            code = clean(str(refusal.get("code") or f"HTTP_{response.status_code}"))[:64]
            detail = ERRORS.get(code) or clean(str(refusal.get("message") or "no reason given"))
            raise ProviderError(f"Twilio refused the template sync ({code}): {detail}", providerCode=code)
        return body
