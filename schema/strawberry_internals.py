"""Every private name of Strawberry we rely on, behind one typed function each.

Strawberry has no public way to read the graphql-core resolve info behind an `Info` (the field's
argument nodes, the document's fragments), to run its graphql-transport-ws result loop over a
stream our handler started, or to reach the graphql-core schema it built.
tests/schema/test_strawberry_internals.py checks that each name still exists with the shape used
here, so an upgrade that drops one fails there instead of at run time.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo, GraphQLSchema
from strawberry import Schema
from strawberry.schema.schema import StreamResult
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.types import Info

# Raised out of `send_result_stream` when the operation closed the socket instead of completing.
OperationStreamClosed = _OperationStreamClosed


def raw_info(info: Info[Any, Any]) -> GraphQLResolveInfo[Any]:
    return info._raw_info


async def send_result_stream(
    handler: BaseGraphQLTransportWSHandler[Any, Any], operation: Operation[Any, Any], source: StreamResult
) -> None:
    """Strawberry's loop sending each result of `source` as a `next` message (errors as `error`)."""
    await handler._send_result_stream(operation, source)


def graphql_schema(schema: Schema) -> GraphQLSchema:
    return schema._schema
