"""The generic API channel: any system posts signed JSON messages (docs/providers.md, "The generic API channel")."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from models import Attachment, DeliveryStatus, MessagingApp, Provider
from providers.webhooks import load_app, sign, signed_json, web_attachments
from resolvers.delivery import Outbound, SendResult, StatusUpdate
from resolvers.errors import ValidationFailed
from resolvers.ids import to_api_id
from resolvers.ingest import receive, receive_status
from resolvers.messages import InboundMessage
from resolvers.replies import local_message_pk
from resolvers.text import clean

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-switchboard-signature"


def _attachments(raw: Any) -> list[Attachment]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValidationFailed("attachments must be a list.", field="attachments")
    found: list[Attachment] = []
    for item in raw:
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(url, str) or not url:
            raise ValidationFailed("Each attachment needs a url.", field="attachments")
        content_type = item.get("contentType")
        found.append({"url": url, "contentType": content_type if isinstance(content_type, str) else None})
    return found


def _optional_text(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise ValidationFailed(f"{key} must be a string.", field=key)
    return value


def parse_inbound(app: MessagingApp, payload: Any) -> InboundMessage:
    if not isinstance(payload, dict):
        raise ValidationFailed("The body must be a JSON object.")
    sender = payload.get("sender")
    message_id = payload.get("messageId")
    if not isinstance(sender, dict) or not isinstance(sender.get("id"), str) or not sender["id"]:
        raise ValidationFailed("sender.id is required.", field="sender.id")
    if not isinstance(message_id, str) or not message_id:
        raise ValidationFailed("messageId is required.", field="messageId")
    return InboundMessage(
        app_id=app.id,
        account_id=app.account_id,
        provider_message_id=message_id,
        contact_external_id=sender["id"],
        contact_name=_optional_text(sender, "name"),
        contact_avatar_url=_optional_text(sender, "avatarUrl"),
        text=_optional_text(payload, "text"),
        attachments=web_attachments(app, _attachments(payload.get("attachments"))),
    )


async def _signed_payload(request: Request) -> tuple[MessagingApp, Any | Response]:
    """The app a webhook is for, and its signed JSON body or the answer refusing it (providers/webhooks.py)."""
    app, credentials = await load_app(request, Provider.API)
    return app, await signed_json(request, app, credentials["secret"], SIGNATURE_HEADER)


def _rejected(app: MessagingApp, what: str, error: ValidationFailed) -> Response:
    """400 for a signed body that is not a valid `what`, logged."""
    log.warning("api channel app %s: rejected %s: %s", app.id, what, error.message)
    return JSONResponse({"error": error.message}, status_code=400)


async def inbound(request: Request) -> Response:
    app, payload = await _signed_payload(request)
    if isinstance(payload, Response):
        return payload
    try:
        received = await receive(parse_inbound(app, payload))
    except ValidationFailed as error:
        return _rejected(app, "message", error)
    return JSONResponse({"ok": True, "duplicate": received.duplicate}, status_code=200)


STATUSES = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}


def parse_status(app_id: int, payload: Any) -> StatusUpdate:
    if not isinstance(payload, dict):
        raise ValidationFailed("The body must be a JSON object.")
    message_id, status, code = payload.get("messageId"), payload.get("status"), payload.get("errorCode")
    if not isinstance(message_id, str) or not 1 <= len(message_id) <= 255:
        raise ValidationFailed("messageId is required.", field="messageId")
    if status not in STATUSES:
        raise ValidationFailed("status must be sent, delivered, read or failed.", field="status")
    if code is not None and not isinstance(code, str | int):
        raise ValidationFailed("errorCode must be a string.", field="errorCode")
    return StatusUpdate(
        app_id,
        STATUSES[status],
        provider_message_id=message_id,
        message_pk=local_message_pk(message_id),
        error_code=str(code) if code is not None else None,
    )


async def status(request: Request) -> Response:
    """`{"messageId": <their or our id>, "status", "errorCode"?}`, signed like inbound messages."""
    app, payload = await _signed_payload(request)
    if isinstance(payload, Response):
        return payload
    try:
        update = parse_status(app.id, payload)
    except ValidationFailed as error:
        return _rejected(app, "status", error)
    if not await receive_status(update):
        log.warning("api channel app %s: status for unknown message %s", app.id, update.provider_message_id)
        return JSONResponse({"ok": True, "known": False})
    return JSONResponse({"ok": True, "known": True})


routes = [
    Route("/webhooks/api/{app_id}", inbound, methods=["POST"]),
    Route("/webhooks/api/{app_id}/status", status, methods=["POST"]),
]


class ApiChannel:
    """Replies are POSTed, signed, to the app's deliveryUrl; a 2xx may carry their messageId."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def send(self, outbound: Outbound) -> SendResult:
        reply: dict[str, Any] = {
            "messageId": to_api_id("Message", outbound.message.id),
            "recipient": {"id": outbound.contact.external_id},
            "text": outbound.message.text,
        }
        if outbound.files:
            # R-MEDIA: signed links that expire (FILE_LINK_SECONDS): fetch them on receipt.
            reply["attachments"] = [
                {"url": file.url, "contentType": file.content_type, "filename": file.filename}
                for file in outbound.files
            ]
        body = json.dumps(reply).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Switchboard-Signature": sign(outbound.credentials["secret"], body),
        }
        try:
            response = await self.http.post(outbound.credentials["deliveryUrl"], content=body, headers=headers)
        except httpx.HTTPError as error:
            return SendResult(error_message=f"deliveryUrl unreachable: {type(error).__name__}", retry=True)
        if not response.is_success:
            return SendResult(
                error_code=f"HTTP_{response.status_code}",
                error_message=f"deliveryUrl answered {response.status_code}",
                retry=response.status_code >= 500 or response.status_code == 429,
            )
        try:
            their_id = clean(response.json().get("messageId"))
        except (ValueError, AttributeError):
            their_id = None
        return SendResult(provider_message_id=their_id if isinstance(their_id, str) and their_id else None)
