"""The Strawberry ASGI view: authenticates each request and builds its context."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from resolvers.viewer import authenticate, bearer_token
from schema.context import Context
from schema.websocket import RealtimeHandler, authenticate_connection
from settings import Settings


class GraphQLView(GraphQL):
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
        )
        self.recheck_seconds = settings.websocket_recheck_seconds

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        viewer = None
        if isinstance(request, Request):
            viewer = await authenticate(bearer_token(request.headers.get("authorization")))
        return Context(request=request, viewer=viewer, request_id=request.scope.get("request_id", ""), response=response)

    async def on_ws_connect(self, context: Context) -> UnsetType:
        await authenticate_connection(context)
        return UNSET
