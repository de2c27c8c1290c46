"""The Strawberry ASGI view: authenticates each request and builds its context; serves GraphiQL
from the project's own files (schema/graphiql/, mounted at /graphiql by app.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from models.pg import request_connection
from resolvers.errors import ValidationFailed
from resolvers.viewer import authenticate, bearer_token
from schema.context import Context
from schema.persisted import PersistedQueries
from schema.websocket import RealtimeHandler, authenticate_connection
from settings import Settings

GRAPHIQL_DIR = Path(__file__).parent / "graphiql"
# Everything from this origin: no CDN, and the browser refuses any other request the page tries
# ('self' also covers ws:/wss: to this host, for subscriptions). GraphiQL's fonts are data: URLs in
# its CSS, and its dialogs insert a <style> element (hence inline styles, never inline scripts).
GRAPHIQL_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "Cache-Control": "no-cache",
}


class GraphQLView(GraphQL[Context, None]):
    # graphql-transport-ws only: the legacy graphql-ws protocol would bypass the grouped fan-out.
    graphql_transport_ws_handler_class = RealtimeHandler

    def __init__(self, schema: Any, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            allow_queries_via_get=True,
            keep_alive=True,
            keep_alive_interval=settings.websocket_ping_seconds,
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            allowed_origins=settings.allowed_origins,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            # uploadFile (R-MEDIA). A multipart body is what a cross-site <form> can send; it is
            # refused below unless it carries an Authorization header, which no form can set, so a
            # browser preflights it and a page of another origin cannot reach it.
            multipart_uploads_enabled=True,
        )
        self.recheck_seconds = settings.websocket_recheck_seconds
        self.write_buffer_limit = settings.subscriber_write_buffer_bytes
        self.persisted = PersistedQueries(settings.persisted_queries_size)

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        request_data: GraphQLRequestData = kwargs["request_data"]
        query = self.persisted.resolve(request_data.query, request_data.extensions)
        if isinstance(query, GraphQLError):
            return ExecutionResult(data=None, errors=[query])
        request_data.query = query
        return await super().execute_single(*args, **kwargs)

    def encode_json(self, data: object) -> str:
        # Once per result, whichever executor produced it (both write the same bytes). A str: the
        # WebSocket side sends it as a text frame.
        return orjson.dumps(data).decode()

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse((GRAPHIQL_DIR / "index.html").read_text(encoding="utf-8"), headers=GRAPHIQL_HEADERS)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        if request.headers.get("content-type", "").startswith("multipart/form-data") and not request.headers.get(
            "authorization"
        ):
            await refusal(HTTPException(400, "A multipart request needs an Authorization header."))(
                scope, receive, send
            )
            return
        try:
            async with request_connection():  # the request's reads share one connection (models/pg.py)
                response = await self.run(request)
        except HTTPException as error:
            response = refusal(error)
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        """Every unreadable JSON text is a JSONDecodeError, which each transport answers as malformed
        (HTTP 400, WebSocket 4400): json.loads raises others for bytes that are not UTF-8 and for
        nesting deeper than the interpreter's recursion limit."""
        try:
            return json.loads(data)
        except UnicodeDecodeError:
            raise json.JSONDecodeError("not UTF-8", "", 0) from None
        except RecursionError:
            raise json.JSONDecodeError("nested too deeply", "", 0) from None

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        viewer = None
        if isinstance(request, Request):
            viewer = await authenticate(bearer_token(request.headers.get("authorization")))
        return Context(
            request=request, viewer=viewer, request_id=request.scope.get("request_id", ""), response=response
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        await authenticate_connection(context)
        return await super().on_ws_connect(context)  # UNSET: connection_ack without a payload


def refusal(error: HTTPException) -> Response:
    """Strawberry's refusals of a request it cannot read (malformed JSON, no query, a mutation over
    GET): a 400 is a GraphQL error body, so clients read it like any other VALIDATION_FAILED."""
    if error.status_code != 400:
        return PlainTextResponse(error.reason, status_code=error.status_code)
    body = {"errors": [{"message": error.reason, "extensions": {"code": ValidationFailed.code}}]}
    return JSONResponse(body, status_code=400)
