"""What every webhook route shares: finding its app, reading the body, the HTTP answers of docs/DESIGN.md §4."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from contextlib import suppress
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from models import Attachment, MessagingApp, Provider
from models.pg import request_connection
from models.sql import WEBHOOK_APP, WEBHOOK_APPS, Dialect, Record, dialect, fetch, instances
from resolvers.credentials import decrypt_credentials
from resolvers.errors import NotFound
from resolvers.ids import pk_of
from resolvers.loops import PerLoop
from resolvers.text import clean, is_web_url

log = logging.getLogger("switchboard.webhooks")

# How long the app reader keeps its connection for the next webhook: under load the next comes
# sooner, and giving the connection back costs asyncpg's reset, a round trip.
LINGER = 0.005


async def load_app(request: Request, provider: Provider) -> tuple[MessagingApp, dict[str, str]]:
    """The app named by the path's `{app_id}` with its decrypted credentials; 404 if none of this provider."""
    try:
        pk = pk_of("MessagingApp", request.path_params["app_id"])
    except NotFound:
        pk = None
    row = None if pk is None else await _app_reader().read(pk)
    if row is None or row["provider"] != provider.value:
        log.warning("%s webhook: unknown app id %r", provider.value, request.path_params["app_id"][:100])
        raise HTTPException(404, "unknown app")
    (app,) = instances(MessagingApp, [row])
    return app, decrypt_credentials(app.credentials_encrypted)


class AppReader:
    """Reads webhooks' apps, those of webhooks arriving together in one statement: the first read
    starts at once; the webhooks arriving while it runs wait for it and share the next one. Each
    webhook's app is read after the webhook arrived, as if alone (an app uninstalled before is
    404), at a fraction of the round trips under load."""

    def __init__(self) -> None:
        self.waiting: dict[int, list[asyncio.Future[Record | None]]] = {}
        self.reading = False
        self.arrived = asyncio.Event()

    async def read(self, pk: int) -> Record | None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Record | None] = loop.create_future()
        self.waiting.setdefault(pk, []).append(future)
        if self.reading:
            self.arrived.set()
        else:
            self.reading = True
            _reads.add(task := loop.create_task(self._read_all(), name="webhook-apps"))
            task.add_done_callback(_reads.discard)
        return await asyncio.shield(future)

    async def _read_all(self) -> None:
        # one pooled connection while webhooks keep arriving (models/pg.py): no acquire for each read
        try:
            while self.waiting:
                asked: dict[int, list[asyncio.Future[Record | None]]] = {}
                try:
                    async with request_connection():
                        while await self._more():
                            asked, self.waiting = self.waiting, {}
                            rows = {row["id"]: row for row in await _read(sorted(asked))}
                            _answer(asked, rows)
                            asked = {}
                except Exception as error:  # the database is down: each webhook answers 503
                    if not asked:  # (no connection to be had)
                        asked, self.waiting = self.waiting, {}
                    _answer(asked, error)
        finally:
            self.reading = False

    async def _more(self) -> bool:
        """Whether webhooks wait for their app; if none does yet, waits `LINGER` for one."""
        if not self.waiting:
            self.arrived.clear()
            with suppress(TimeoutError):
                async with asyncio.timeout(LINGER):
                    await self.arrived.wait()
        return bool(self.waiting)


def _answer(
    asked: dict[int, list[asyncio.Future[Record | None]]],
    outcome: dict[int, Record] | Exception,
) -> None:
    """Each webhook its app's row (None: no such app), or the error that kept it from being read."""
    for pk, futures in asked.items():
        for future in futures:
            if future.done():
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome.get(pk))


async def _read(pks: list[int]) -> list[Record]:
    if dialect() == Dialect.POSTGRES:
        return await fetch(WEBHOOK_APPS, pks)
    return [row for pk in pks for row in await fetch(WEBHOOK_APP, pk)]


_readers: PerLoop[AppReader] = PerLoop()
_reads: set[asyncio.Task[None]] = set()


def _app_reader() -> AppReader:
    return _readers.get() or _readers.set(AppReader())


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
