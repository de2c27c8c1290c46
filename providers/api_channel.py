"""The generic API channel: any system posts signed JSON messages (providers.md, "Generic API channel")."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from models import Provider
from providers.webhooks import load_app
from resolvers.errors import ValidationFailed
from resolvers.messages import InboundMessage, receive_message

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-switchboard-signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(sign(secret, body), header.strip())


def _attachments(raw: Any) -> list[dict[str, str | None]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValidationFailed("attachments must be a list.", field="attachments")
    found = []
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


def parse_inbound(app_id: int, payload: Any) -> InboundMessage:
    if not isinstance(payload, dict):
        raise ValidationFailed("The body must be a JSON object.")
    sender = payload.get("sender")
    message_id = payload.get("messageId")
    if not isinstance(sender, dict) or not isinstance(sender.get("id"), str) or not sender["id"]:
        raise ValidationFailed("sender.id is required.", field="sender.id")
    if not isinstance(message_id, str) or not message_id:
        raise ValidationFailed("messageId is required.", field="messageId")
    return InboundMessage(
        app_id=app_id,
        provider_message_id=message_id,
        contact_external_id=sender["id"],
        contact_name=_optional_text(sender, "name"),
        contact_avatar_url=_optional_text(sender, "avatarUrl"),
        text=_optional_text(payload, "text"),
        attachments=_attachments(payload.get("attachments")),
    )


async def inbound(request: Request) -> Response:
    app, credentials = await load_app(request, Provider.API)
    body = await request.body()
    if not signature_ok(credentials["secret"], body, request.headers.get(SIGNATURE_HEADER)):
        log.warning("api channel app %s: bad or missing signature", app.id)
        return JSONResponse({"error": "bad signature"}, status_code=403)
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        log.warning("api channel app %s: malformed JSON", app.id)
        return JSONResponse({"error": "malformed JSON"}, status_code=400)
    try:
        received = await receive_message(parse_inbound(app.id, payload))
    except ValidationFailed as error:
        log.warning("api channel app %s: rejected message: %s", app.id, error.message)
        return JSONResponse({"error": error.message}, status_code=400)
    return JSONResponse({"ok": True, "duplicate": received.duplicate}, status_code=200)


routes = [Route("/webhooks/api/{app_id}", inbound, methods=["POST"])]
