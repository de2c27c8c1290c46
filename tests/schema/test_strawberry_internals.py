"""The private names of Strawberry that schema/strawberry_internals.py wraps still exist in the
installed Strawberry, with the shape the wrappers use: an upgrade that drops or reshapes one fails
here, by name, rather than in a subscriber's socket at run time."""

from __future__ import annotations

import inspect
from typing import Any

import strawberry
from graphql import GraphQLSchema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.types import Info

from schema.strawberry_internals import OperationStreamClosed, graphql_schema, raw_info

SEEN: list[Any] = []


@strawberry.type
class Query:
    @strawberry.field
    def seen(self, info: Info, after: str | None = None) -> bool:
        SEEN.append(raw_info(info))
        return True


SCHEMA = strawberry.Schema(query=Query)


def test_raw_info_gives_the_resolve_info_with_field_nodes_and_fragments() -> None:
    SEEN.clear()

    result = SCHEMA.execute_sync('query { ...Seen } fragment Seen on Query { seen(after: "x") }')

    assert result.errors is None
    (raw,) = SEEN  # graphql-core's resolve info, or Strawberry's stand-in of the same fields
    assert raw.field_name == "seen"
    assert [argument.name.value for argument in raw.field_nodes[0].arguments] == ["after"]
    assert list(raw.fragments) == ["Seen"]


def test_send_result_stream_is_a_coroutine_method_of_operation_and_result_source() -> None:
    method = getattr(BaseGraphQLTransportWSHandler, "_send_result_stream", None)

    assert method is not None, "BaseGraphQLTransportWSHandler._send_result_stream is gone"
    assert inspect.iscoroutinefunction(method)
    assert list(inspect.signature(method).parameters) == ["self", "operation", "result_source"]


def test_operation_stream_closed_is_what_strawberrys_run_operation_ends_quietly_on() -> None:
    """Our handler's run_operation stands in for Strawberry's, so it must catch the same exception."""
    assert issubclass(OperationStreamClosed, Exception)
    assert OperationStreamClosed.__name__ in BaseGraphQLTransportWSHandler.run_operation.__code__.co_names


def test_graphql_schema_is_the_graphql_core_schema_strawberry_built() -> None:
    built = graphql_schema(SCHEMA)

    assert isinstance(built, GraphQLSchema)
    assert built.query_type is not None and list(built.query_type.fields) == ["seen"]
