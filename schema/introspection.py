"""Introspection: always in development; in production only for signed-in users."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from settings import get_settings


class IntrospectionGuard(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        if not get_settings().production or getattr(context, "viewer", None) is not None:
            return
        query = self.execution_context.query or ""
        if "__schema" in query or "__type" in query:
            error = GraphQLError("Introspection needs a signed-in user in production.", extensions={"code": "UNAUTHENTICATED"})
            self.execution_context.pre_execution_errors = [*(self.execution_context.pre_execution_errors or []), error]
