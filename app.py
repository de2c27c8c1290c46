"""The Starlette application factory: /graphql, /webhooks/..., /healthz, /readyz."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise.exceptions import DBConnectionError, OperationalError

from models.db import close_database, open_database, ping
from providers import api_channel, messenger, twilio
from providers.email import EmailWorker, email_sender
from providers.runtime import ProviderRuntime
from resolvers.clock import Clock, use_clock
import schema
from schema import build_schema
from schema.view import GraphQLView
from settings import Settings, get_settings, use_settings
from subscriptions.hub import start_hub, stop_hub

log = logging.getLogger("switchboard")


class RequestLimits:
    """Gives every request an id (logged with masked errors) and refuses bodies over the limit with 413."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope["request_id"] = uuid.uuid4().hex[:16]
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            log.warning("request %s to %s: declared body of %r bytes refused", scope["request_id"], scope["path"], declared[:20])
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
                if seen > self.max_body_bytes:
                    log.warning("request %s to %s: body over %d bytes refused", scope["request_id"], scope["path"], seen)
                    raise HTTPException(413, "Request body too large")
            return message

        await self.app(scope, limited_receive, send)


WEB_DIR = Path(schema.__file__).parent / "web"
WEB_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
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


async def database_down(request: Request, exc: Exception) -> Response:
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


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, manage_database: bool = True) -> ASGIApp:
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
        Route("/", web_app),
        Route("/inbox/conversations/{conversation_id}", web_app),
        Mount("/web", StaticFiles(directory=WEB_DIR), name="web"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers=dict.fromkeys(DATABASE_DOWN, database_down),
    )
    return RequestLimits(app, settings.max_body_bytes)
