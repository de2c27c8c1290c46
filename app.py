"""The Starlette application factory: /graphql, /webhooks/..., /healthz, /readyz."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal, TypedDict

import asyncpg
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise.exceptions import DBConnectionError, OperationalError
from uvicorn.config import LOGGING_CONFIG

import schema
from models.db import REFUSED_VALUE, close_database, open_database, ping, refused_value
from providers import api_channel, file_routes, messenger, twilio
from providers.email import EmailWorker, email_sender
from providers.runtime import ProviderRuntime
from resolvers.clock import Clock, use_clock
from resolvers.files import MAX_UPLOAD_BYTES
from resolvers.links import CONVERSATION_PATH
from schema import build_schema
from schema.frames import BroadcastWebSockets
from schema.view import GRAPHIQL_DIR, GraphQLView
from settings import Settings, get_settings, use_settings
from subscriptions.hub import start_hub, stop_hub

log = logging.getLogger("switchboard")


class RequestLimits:
    """Gives every request an id (logged with masked errors) and refuses bodies over the limit with 413."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, *, upload_bytes: int = 0) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.upload_bytes = max(upload_bytes, max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope["request_id"] = os.urandom(8).hex()
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        limit = self.max_body_bytes
        if scope["path"] == "/graphql" and headers.get(b"content-type", b"").startswith(b"multipart/form-data"):
            limit = self.upload_bytes  # R-MEDIA: uploadFile's file (the multipart request spec)
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            log.warning(
                "request %s to %s: declared body of %r bytes refused", scope["request_id"], scope["path"], declared[:20]
            )
            await PlainTextResponse("Request body too large", status_code=413)(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            # Raised inside the endpoint's read, so Starlette's exception middleware answers 413
            # before any other response starts (a bare exception would first become a 500).
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    log.warning(
                        "request %s to %s: body over %d bytes refused", scope["request_id"], scope["path"], seen
                    )
                    raise HTTPException(413, "Request body too large")
            return message

        await self.app(scope, limited_receive, send)


# A multipart upload's parts besides the file: `operations` and `map`, and the parts' headers.
UPLOAD_FORM_BYTES = 100_000

# On every HTTP response. nosniff: a browser never runs a response (a webhook's answer, a file) as a
# type other than the one declared. no-referrer: nothing of ours reads Referer, and a link followed
# from the inbox (an attachment, a contact's website) would otherwise learn the server's address
# and the page's path, which names a conversation. (A WebSocket handshake still carries Origin.)
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP response, the refusals of RequestLimits and Starlette's 500 included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


WEB_DIR = Path(schema.__file__).parent / "web"
WEB_HEADERS = {
    # blob: shows the files fetched with the bearer token (R-MEDIA); they are never pages.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'",
    "Cache-Control": "no-cache",
}


async def web_app(request: Request) -> Response:
    """The inbox single-page app: one page for / and for every deep link it routes itself."""
    return FileResponse(WEB_DIR / "index.html", headers=WEB_HEADERS)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    if await ping():
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "database unreachable"}, status_code=503)


async def client_disconnected(request: Request, exc: Exception) -> Response:
    """A client gone before its body was read: one line, not a traceback per request (nobody reads the answer)."""
    log.warning(
        "request %s to %s: client disconnected before its body was read",
        request.scope.get("request_id", "-"),
        request.url.path,
    )
    return Response(status_code=400)


async def database_error(request: Request, exc: Exception) -> Response:
    """503 (retry later) only when the database cannot be reached; a value it refused is the
    request's fault: 400, or a provider would retry the same poison message forever."""
    if refused_value(exc):
        request_id = request.scope.get("request_id", "-")
        log.warning("request %s to %s: the database refused a value: %s", request_id, request.url.path, str(exc)[:200])
        return JSONResponse({"error": "a value in the request cannot be stored"}, status_code=400)
    log.error("database unavailable while serving %s: %s", request.url.path, exc)
    return JSONResponse({"error": "database unavailable, retry later"}, status_code=503)


# What reaching a database that is down raises: Tortoise wraps some errors, asyncpg's pool lets the
# rest through (a database refusing connections, an administrator's shutdown, a dropped socket, and a
# pooled connection whose server end was cut in the middle of its protocol exchange).
DATABASE_DOWN: tuple[type[Exception], ...] = (
    DBConnectionError,
    OperationalError,
    ConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.ObjectNotInPrerequisiteStateError,
    asyncpg.exceptions.TooManyConnectionsError,
)


# The youngest generation's threshold for a served process (Python's default is 700). With thousands
# of open WebSockets, each event and each socket re-check leaves objects alive across an `await`; a
# collection every 700 allocations promotes them, and every promotion adds to the full collections
# that walk every socket's objects (32% of a 4,000-subscriber server's CPU in bench/fanout.py).
# Collecting the young generation less often lets most of them die first (a few MB more held).
GC_YOUNG_THRESHOLD = 50_000


def create_served_app() -> ASGIApp:
    """The app as `switchboard serve` runs it (each worker process calls this): `create_app`, then
    the objects made so far (modules, the schema) set aside for good from the collector's walks
    (`gc.freeze`) and the young generation collected less often (GC_YOUNG_THRESHOLD)."""
    served = create_app()
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)
    return served


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, manage_database: bool = True
) -> ASGIApp:
    settings = settings or get_settings()
    use_settings(settings)
    if clock is not None:
        use_clock(clock)
    if settings.production and settings.secret_key == Settings().secret_key:
        raise RuntimeError("SECRET_KEY must be set in production.")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_database:
            await open_database(settings.database_url)
        emails = EmailWorker(email_sender(settings))
        emails.start()
        app.state.providers = ProviderRuntime(settings)
        await app.state.providers.start()
        await start_hub(
            settings.redis_url,
            settings.redis_channel,
            queue_size=settings.subscriber_queue_size,
            render_budget=settings.subscription_render_budget_ms / 1000,
        )
        try:
            yield
        finally:
            await stop_hub()
            await app.state.providers.close()
            await emails.stop()
            if manage_database:
                await close_database()

    graphql = GraphQLView(build_schema(), settings)
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        *api_channel.routes,
        *twilio.routes,
        *messenger.routes,
        *file_routes.routes,
        Route("/", web_app),
        Route(CONVERSATION_PATH, web_app),
        Route("/team", web_app),
        Mount("/web", StaticFiles(directory=WEB_DIR), name="web"),
        Mount("/graphiql", StaticFiles(directory=GRAPHIQL_DIR / "static"), name="graphiql"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            **dict.fromkeys((*DATABASE_DOWN, *REFUSED_VALUE), database_error),
            ClientDisconnect: client_disconnected,
        },
    )
    return SecurityHeaders(
        RequestLimits(app, settings.max_body_bytes, upload_bytes=MAX_UPLOAD_BYTES + UPLOAD_FORM_BYTES)
    )


class NoQueryStrings(logging.Filter):
    """Drops the query string from the paths uvicorn logs (its access lines, its WebSocket lines):
    a Messenger verification carries `hub.verify_token`, a GraphQL GET its variables."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(arg, str) and arg.startswith("/") and "?" in arg for arg in record.args
        ):
            record.args = tuple(
                arg.partition("?")[0] if isinstance(arg, str) and arg.startswith("/") else arg for arg in record.args
            )
        return True


class ServerOptions(TypedDict):
    """The keyword arguments of uvicorn.Config / uvicorn.run that `server_options` sets."""

    http: Literal["httptools"]
    ws: type[BroadcastWebSockets]
    ws_max_size: int
    ws_per_message_deflate: bool
    log_level: str
    log_config: dict[str, Any]


def server_options(settings: Settings) -> ServerOptions:
    """How `switchboard serve` and `switchboard demo` run uvicorn."""
    return {
        "http": "httptools",
        "ws": BroadcastWebSockets,  # uvicorn's own, letting subscriptions write shared frames (schema/frames.py)
        "ws_max_size": settings.max_body_bytes,  # a WebSocket message is held whole before it is parsed
        "ws_per_message_deflate": False,  # a compressor per WebSocket costs ~50 KB; payloads are small JSON
        "log_level": "info",
        "log_config": {
            **LOGGING_CONFIG,
            "filters": {"no_query_strings": {"()": NoQueryStrings}},
            "handlers": {
                name: {**handler, "filters": ["no_query_strings"]}
                for name, handler in LOGGING_CONFIG["handlers"].items()
            },
        },
    }
