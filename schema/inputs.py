"""Every string a client sends is cleaned (resolvers.text.clean) before any resolver sees it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, StringValueNode, Visitor, visit
from strawberry.extensions import SchemaExtension

from resolvers.text import clean, clean_text


class _CleanLiterals(Visitor):
    def enter_string_value(self, node: StringValueNode, *_: Any) -> StringValueNode | None:
        cleaned = clean_text(node.value)
        if cleaned == node.value:
            return None
        return StringValueNode(value=cleaned, block=node.block, loc=node.loc)


def _may_hold_nul(query: str) -> bool:
    """A literal can carry NUL raw or as an escape (`\\u0000`, `\\u{0}`); the parser already refuses
    lone surrogates in literals. Most documents have neither, and are not walked."""
    return "\x00" in query or "\\u" in query


class CleanInputs(SchemaExtension):
    """Variables (at any depth, JSON scalars included) and string literals, for every operation over
    HTTP and WebSocket alike: the one place GraphQL input is made storable. Runs as execution starts,
    so the cached parsed document is never changed (a cleaned copy replaces it for this request)."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.variables:
            context.variables = clean(context.variables)
        document: DocumentNode | None = context.graphql_document
        if document is not None and context.query and _may_hold_nul(context.query):
            context.graphql_document = visit(document, _CleanLiterals())
        yield
