"""What every webhook route shares: finding its app, reading the body, the HTTP answers of DESIGN.md §4."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request

from models import MessagingApp, Provider
from resolvers.credentials import decrypt_credentials
from resolvers.errors import NotFound
from resolvers.ids import pk_of

log = logging.getLogger("switchboard.webhooks")


async def load_app(request: Request, provider: Provider) -> tuple[MessagingApp, dict[str, str]]:
    """The app named by the path's `{app_id}` with its decrypted credentials; 404 if none of this provider."""
    try:
        pk = pk_of("MessagingApp", request.path_params["app_id"])
    except NotFound:
        pk = None
    app = None if pk is None else await MessagingApp.get_or_none(id=pk, provider=provider)
    if app is None:
        log.warning("%s webhook: unknown app id %r", provider.value, request.path_params["app_id"][:100])
        raise HTTPException(404, "unknown app")
    return app, decrypt_credentials(app.credentials_encrypted)

