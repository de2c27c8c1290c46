"""What every webhook route shares: finding its app, reading the body, the HTTP answers of docs/DESIGN.md §4."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from models import Attachment, MessagingApp, Provider
from models.sql import WEBHOOK_APP, fetch
from resolvers.credentials import decrypt_credentials
from resolvers.errors import NotFound
from resolvers.ids import pk_of
from resolvers.text import clean, is_web_url

log = logging.getLogger("switchboard.webhooks")


async def load_app(request: Request, provider: Provider) -> tuple[MessagingApp, dict[str, str]]:
    """The app named by the path's `{app_id}` with its decrypted credentials; 404 if none of this provider."""
    try:
        pk = pk_of("MessagingApp", request.path_params["app_id"])
    except NotFound:
        pk = None
    rows = [] if pk is None else await fetch(WEBHOOK_APP, pk, provider.value)
    if not rows:
        log.warning("%s webhook: unknown app id %r", provider.value, request.path_params["app_id"][:100])
        raise HTTPException(404, "unknown app")
    app = MessagingApp(**{**rows[0], "provider": provider})
    return app, decrypt_credentials(app.credentials_encrypted)


def sign(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256(secret, body)>`: the API channel's and Messenger's signature."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    # compare_digest refuses non-ASCII text with a TypeError: such a header is simply wrong.
    if not header or not header.isascii():
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


async def signed_json(request: Request, app: MessagingApp, secret: str, header: str) -> Any | Response:
    """The JSON body of a request signed with `sign` over its raw bytes, cleaned (every string made
    storable, resolvers.text.clean), or the answer refusing it (403 bad or missing signature, 400
    malformed JSON), logged."""
    body = await request.body()
    if not signature_ok(secret, body, request.headers.get(header)):
        log.warning("%s app %s: bad or missing signature on %s", app.provider.value, app.id, request.url.path)
        return JSONResponse({"error": "bad signature"}, status_code=403)
    try:
        return clean(json.loads(body))
    except (ValueError, RecursionError):
        log.warning("%s app %s: malformed JSON on %s", app.provider.value, app.id, request.url.path)
        return JSONResponse({"error": "malformed JSON"}, status_code=400)


def web_attachments(app: MessagingApp, attachments: list[Attachment]) -> list[Attachment]:
    """The attachments whose URL is http(s) (resolvers.text.is_web_url); the others are dropped, logged."""
    kept = [attachment for attachment in attachments if is_web_url(attachment["url"])]
    if len(kept) < len(attachments):
        schemes = sorted({str(a["url"]).partition(":")[0][:20] for a in attachments if not is_web_url(a["url"])})
        dropped = len(attachments) - len(kept)
        log.warning(
            "%s app %s: %d attachment(s) dropped, not http(s): %s", app.provider.value, app.id, dropped, schemes
        )
    return kept
