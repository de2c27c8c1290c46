"""The two ways a stored file leaves Switchboard (R-MEDIA): to a signed-in user with access to its
conversation (`Attachment.url`), and to a provider holding a signed, expiring link (a reply's file)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from models import FileState, StoredFile
from resolvers import files
from resolvers.access import visible_app_ids
from resolvers.errors import NotFound
from resolvers.viewer import authenticate, bearer_token

INLINE = ("image/jpeg", "image/png", "image/gif", "image/webp")


def _file_response(row: StoredFile, data: bytes, *, cache: str) -> Response:
    content_type = row.content_type or "application/octet-stream"
    disposition = "inline" if content_type in INLINE else "attachment"
    name = quote(row.filename or "file", safe="")
    return Response(
        data,
        media_type=content_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{name}",
            "Cache-Control": cache,
            # A stored file is never a page of ours: no script in it runs, whatever its type.
            "Content-Security-Policy": "sandbox; default-src 'none'",
        },
    )


async def attachment(request: Request) -> Response:
    """GET /files/{messageId}/{position} with `Authorization: Bearer`: 401 without a known token,
    404 for what the viewer may not see (or an unavailable file), 503 while the copy is pending."""
    viewer = await authenticate(bearer_token(request.headers.get("authorization")))
    if viewer is None:
        return PlainTextResponse("Sign in", status_code=401, headers={"WWW-Authenticate": "Bearer"})
    try:
        row, data = await files.read_attachment(
            viewer.account_id,
            await visible_app_ids(viewer),
            request.path_params["message_id"],
            request.path_params["position"],
        )
    except NotFound:
        return PlainTextResponse("No such file", status_code=404)
    if data is None:
        if row.state == FileState.PENDING:
            return PlainTextResponse("Not copied from the provider yet", status_code=503, headers={"Retry-After": "30"})
        return PlainTextResponse("The provider no longer has this file", status_code=404)
    return _file_response(row, data, cache="private, max-age=3600")


async def public_file(request: Request) -> Response:
    """GET /files/public/{fileId}/{name}?expires=…&signature=…: 403 for a tampered or expired link."""
    found = await files.read_public(
        request.path_params["file_id"],
        request.query_params.get("expires", ""),
        request.query_params.get("signature", ""),
    )
    if found is None:
        return PlainTextResponse("This link is not valid", status_code=403)
    return _file_response(*found, cache="private, no-store")


routes = [
    Route("/files/public/{file_id:int}/{name}", public_file, methods=["GET", "HEAD"]),
    Route("/files/{message_id}/{position:int}", attachment, methods=["GET", "HEAD"]),
]
