"""Introspection: always in development; in production only for signed-in users."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import FieldNode, GraphQLError, ValidationRule
from strawberry.extensions import SchemaExtension

from resolvers.errors import Unauthenticated
from settings import get_settings


class AnonymousIntrospection(ValidationRule):
    """Refuses `__schema` and `__type` (wherever they sit, fragments included); `__typename` stays allowed."""

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.name.value in ("__schema", "__type"):
            self.report_error(
                GraphQLError(
                    "Introspection needs a signed-in user in production.",
                    node,
                    extensions={"code": Unauthenticated.code},
                )
            )


class IntrospectionGuard(SchemaExtension):
    # A validation rule rather than a check after validation: Strawberry decides whether to execute
    # before the extensions' validation hooks finish, and the rule class is constant, so
    # ValidationCache keeps the anonymous and the signed-in answers apart.
    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        if get_settings().production and getattr(context.context, "viewer", None) is None:
            context.validation_rules = (*context.validation_rules, AnonymousIntrospection)
        yield
