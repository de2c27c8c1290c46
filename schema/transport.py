"""Which transport serves what: subscriptions only over the WebSocket (graphql-transport-ws).

Over HTTP (GET or POST) a subscription document would otherwise run as a query and fail deep in
graphql-core (INTERNAL, a traceback in the log). Here it is refused before execution with
VALIDATION_FAILED and a message that tells the client where subscriptions are served.
"""

from __future__ import annotations

from collections.abc import Iterator

from starlette.requests import Request
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from resolvers.errors import ValidationFailed

SUBSCRIPTIONS_OVER_WEBSOCKET = "Subscriptions are served over WebSocket at /graphql (graphql-transport-ws)."


class SubscriptionsOverWebSocket(SchemaExtension):
    # In `on_execute`: the selected operation's type is known (a document may hold a query and a
    # subscription, and GraphiQL sends both with `operationName`), the document has passed
    # validation, and Strawberry answers an exception raised here as a pre-execution error.
    # List this extension first: it then raises before any other `on_execute` hook is entered.
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if (
            isinstance(getattr(context.context, "request", None), Request)
            and context.operation_type is OperationType.SUBSCRIPTION
        ):
            raise ValidationFailed(SUBSCRIPTIONS_OVER_WEBSOCKET)
        yield
