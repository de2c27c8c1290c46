"""Facebook Messenger (docs/providers.md, "Facebook Messenger"): the page webhook in, the Send API out."""

from __future__ import annotations

import hmac
import logging
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from models import Attachment, DeliveryStatus, MessagingApp, Provider
from models.db import refused_value
from providers.webhooks import load_app, signed_json, web_attachments
from resolvers.contacts import complete_contact
from resolvers.delivery import Outbound, SendResult, StatusUpdate, apply_watermark
from resolvers.errors import ValidationFailed
from resolvers.ids import to_api_id
from resolvers.ingest import receive, receive_status
from resolvers.messages import InboundMessage
from resolvers.replies import receive_echo
from resolvers.text import clean

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-hub-signature-256"
CONTENT_TYPES = {"image": "image/*", "video": "video/*", "audio": "audio/*", "file": "application/octet-stream"}
TRANSIENT = {"2", "1200"}
ERRORS: dict[str, str] = {
    "10": "Outside the 24-hour Messenger window: the page may no longer message this person.",
    "551": "This person isn't available right now.",
    "190": "The page access token is invalid or expired: reinstall the app with a new token.",
    "4": "Messenger rate limit reached; try again later.",
    "613": "Messenger rate limit reached; try again later.",
}


def _moment(ms: Any) -> datetime:
    if not isinstance(ms, int) or isinstance(ms, bool) or ms < 0:
        raise ValidationFailed("watermark must be epoch milliseconds.", field="watermark")
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _id(party: Any, name: str) -> str:
    value = party.get("id") if isinstance(party, dict) else None
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value):
        raise ValidationFailed(f"{name}.id is missing.", field=f"{name}.id")
    return str(value)


def _content(message: dict[str, Any]) -> tuple[str | None, list[Attachment]]:
    text = message.get("text") if isinstance(message.get("text"), str) else None
    attachments: list[Attachment] = []
    notes: list[str] = []
    for item in message.get("attachments") or []:
        if not isinstance(item, dict):
            continue
        payload = item.get("payload")
        if not isinstance(payload, dict):
            payload = {}
        coordinates = payload.get("coordinates")
        if isinstance(payload.get("url"), str) and payload["url"]:
            attachments.append({"url": payload["url"], "contentType": CONTENT_TYPES.get(str(item.get("type")))})
        elif isinstance(coordinates, dict):
            notes.append(f"Location: ({coordinates.get('lat')}, {coordinates.get('long')})")
    if notes:
        text = "\n".join([text, *notes] if text else notes)
    return text, attachments


async def _message_event(
    request: Request, app: MessagingApp, credentials: dict[str, str], event: dict[str, Any]
) -> None:
    message = event["message"]
    mid = message.get("mid")
    if not isinstance(mid, str) or not mid:
        raise ValidationFailed("message.mid is missing.", field="mid")
    text, attachments = _content(message)
    attachments = web_attachments(app, attachments)
    if message.get("is_echo"):
        metadata = message.get("metadata")
        stored = await receive_echo(
            app.id,
            _id(event.get("recipient"), "recipient"),
            mid,
            text=text,
            attachments=attachments,
            local_id=metadata if isinstance(metadata, str) else None,
        )
        if not stored:
            log.info("messenger app %s: echo %s for a contact without conversation skipped", app.id, mid)
        return
    psid = _id(event.get("sender"), "sender")
    received = await receive(
        InboundMessage(app.id, mid, psid, text=text, attachments=attachments, account_id=app.account_id)
    )
    if not received.duplicate and not received.sender_name:
        _fetch_profile_later(request, app, credentials, psid)


async def _postback_event(app: MessagingApp, event: dict[str, Any]) -> None:
    postback = event["postback"] if isinstance(event["postback"], dict) else {}
    psid = _id(event.get("sender"), "sender")
    mid = postback.get("mid") or f"postback:{psid}:{event.get('timestamp')}"
    text = postback.get("title") or postback.get("payload")
    await receive(
        InboundMessage(app.id, str(mid), psid, text=text if isinstance(text, str) else None, account_id=app.account_id)
    )


async def _status_event(app: MessagingApp, event: dict[str, Any], kind: str) -> None:
    body = event[kind] if isinstance(event[kind], dict) else {}
    status = DeliveryStatus.DELIVERED if kind == "delivery" else DeliveryStatus.READ
    for mid in body.get("mids") or []:
        if isinstance(mid, str) and not await receive_status(StatusUpdate(app.id, status, provider_message_id=mid)):
            log.info("messenger app %s: %s for unknown message %s", app.id, kind, mid)
    if "watermark" in body:
        await apply_watermark(app.id, _id(event.get("sender"), "sender"), status, _moment(body["watermark"]))


async def _event(request: Request, app: MessagingApp, credentials: dict[str, str], event: Any) -> None:
    if not isinstance(event, dict):
        raise ValidationFailed("An event must be an object.")
    if isinstance(event.get("message"), dict):
        await _message_event(request, app, credentials, event)
    elif "postback" in event:
        await _postback_event(app, event)
    elif "delivery" in event or "read" in event:
        await _status_event(app, event, "delivery" if "delivery" in event else "read")
    else:
        log.info("messenger app %s: event of keys %s ignored", app.id, sorted(event))


async def verify(request: Request) -> Response:
    app, credentials = await load_app(request, Provider.MESSENGER)
    params = request.query_params
    token = params.get("hub.verify_token", "")
    if params.get("hub.mode") == "subscribe" and hmac.compare_digest(
        token.encode(), credentials["verifyToken"].encode()
    ):
        return PlainTextResponse(params.get("hub.challenge", ""))
    log.warning("messenger app %s: verification refused", app.id)
    return PlainTextResponse("verification refused", status_code=403)


async def webhook(request: Request) -> Response:
    app, credentials = await load_app(request, Provider.MESSENGER)
    payload = await signed_json(request, app, credentials["appSecret"], SIGNATURE_HEADER)
    if isinstance(payload, Response):
        return payload
    if not isinstance(payload, dict) or payload.get("object") != "page" or not isinstance(payload.get("entry"), list):
        log.warning("messenger app %s: not a page webhook", app.id)
        return JSONResponse({"error": "expected object=page with a list of entries"}, status_code=400)
    for entry in payload["entry"]:
        if not isinstance(entry, dict) or str(entry.get("id")) != credentials["pageId"]:
            log.warning("messenger app %s: entry for another page skipped", app.id)
            continue
        events = entry.get("messaging")
        if not isinstance(events, list):
            log.info("messenger app %s: entry without messaging skipped", app.id)
            continue
        for event in events:
            try:
                await _event(request, app, credentials, event)
            except ValidationFailed as error:  # one bad event never fails the others
                log.warning("messenger app %s: event skipped: %s", app.id, error.message)
            except (TypeError, ValueError, KeyError, AttributeError) as error:
                log.warning("messenger app %s: malformed event skipped: %s", app.id, type(error).__name__)
            except Exception as error:
                if not refused_value(error):
                    raise  # the database is down: 503, Facebook retries the whole batch
                log.warning("messenger app %s: event skipped, a value cannot be stored: %s", app.id, str(error)[:200])
    return PlainTextResponse("EVENT_RECEIVED")


routes = [
    Route("/webhooks/messenger/{app_id}", verify, methods=["GET"]),
    Route("/webhooks/messenger/{app_id}", webhook, methods=["POST"]),
]


# ---- the Graph API


def _attachment_type(content_type: str) -> str:
    """Graph's attachment types: image, audio, video, or file for the rest."""
    major = content_type.partition("/")[0]
    return major if major in ("image", "audio", "video") else "file"


class MessengerChannel:
    PROFILES_REMEMBERED = 10_000

    def __init__(self, http: httpx.AsyncClient, base_url: str, version: str) -> None:
        self.http = http
        self.base = f"{base_url.rstrip('/')}/{version}"
        self.profiles_asked: OrderedDict[tuple[int, str], None] = OrderedDict()

    def first_ask(self, app_id: int, psid: str) -> bool:
        """Once per contact and process: a nameless contact's every message must not call Graph again."""
        key = (app_id, psid)
        if key in self.profiles_asked:
            return False
        self.profiles_asked[key] = None
        if len(self.profiles_asked) > self.PROFILES_REMEMBERED:
            self.profiles_asked.popitem(last=False)
        return True

    async def send(self, outbound: Outbound) -> SendResult:
        """Graph carries text or one attachment per message: a reply with both is the file, then the
        text (R-MEDIA); the file's message id is the reply's."""
        metadata = to_api_id("Message", outbound.message.id)
        bodies: list[dict[str, Any]] = [
            {
                "attachment": {
                    "type": _attachment_type(file.content_type),
                    "payload": {"url": file.url, "is_reusable": False},
                }
            }
            for file in outbound.files
        ]
        if outbound.message.text or not bodies:
            bodies.append({"text": outbound.message.text or ""})
        first: SendResult | None = None
        for message in bodies:
            result = await self._send_one(outbound, {**message, "metadata": metadata})
            if result.error_code is not None or result.retry:
                return result
            first = first or result
        assert first is not None
        return first

    async def _send_one(self, outbound: Outbound, message: dict[str, Any]) -> SendResult:
        body = {
            "recipient": {"id": outbound.contact.external_id},
            "messaging_type": "RESPONSE",
            # Graph reads `metadata` inside `message`; it comes back on the echo and finds this row.
            "message": message,
        }
        try:
            response = await self.http.post(
                f"{self.base}/me/messages", params={"access_token": outbound.credentials["pageAccessToken"]}, json=body
            )
        except httpx.HTTPError as error:
            return SendResult(error_message=f"Graph API unreachable: {type(error).__name__}", retry=True)
        if response.status_code == 200:
            found = _json(response)
            mid = found.get("message_id")
            return SendResult(provider_message_id=mid if isinstance(mid, str) else None)
        refusal = _json(response).get("error")
        if not isinstance(refusal, dict):
            refusal = {}
        code = str(refusal.get("code") or response.status_code)
        message_text = ERRORS.get(code) or str(refusal.get("message") or response.reason_phrase)
        if refusal.get("error_subcode"):
            message_text = f"{message_text} (subcode {refusal['error_subcode']})"
        retry = code in TRANSIENT or bool(refusal.get("is_transient")) or response.status_code >= 500
        return SendResult(error_code=code, error_message=message_text, retry=retry)

    async def profile(self, psid: str, page_token: str) -> tuple[str | None, str | None]:
        """(name, picture); (None, None) when Graph gives nothing (2018218, errors, timeouts)."""
        try:
            response = await self.http.get(
                f"{self.base}/{psid}",
                params={"fields": "first_name,last_name,profile_pic", "access_token": page_token},
            )
        except httpx.HTTPError as error:
            log.info("messenger profile of %s unavailable: %s", psid, type(error).__name__)
            return None, None
        if response.status_code != 200:
            log.info("messenger profile of %s unavailable: HTTP %s", psid, response.status_code)
            return None, None
        found = _json(response)
        name = " ".join(
            str(found[k]) for k in ("first_name", "last_name") if isinstance(found.get(k), str) and found[k]
        )
        picture = found.get("profile_pic")
        return name or None, picture if isinstance(picture, str) else None


def _json(response: httpx.Response) -> dict[str, Any]:
    """Graph's answer, cleaned like every input (resolvers.text.clean)."""
    try:
        found = response.json()
    except ValueError:
        return {}
    return clean(found) if isinstance(found, dict) else {}


def _fetch_profile_later(request: Request, app: MessagingApp, credentials: dict[str, str], psid: str) -> None:
    """The name comes from the profile API after the webhook answered; it may never come."""
    runtime = getattr(request.app.state, "providers", None)
    if runtime is None:
        return
    channel: MessengerChannel = runtime.channels[Provider.MESSENGER]
    if not channel.first_ask(app.id, psid):
        return

    async def fetch() -> None:
        name, picture = await channel.profile(psid, credentials["pageAccessToken"])
        if name or picture:
            await complete_contact(app.id, psid, name=name, avatar_url=picture)

    runtime.spawn(fetch())
