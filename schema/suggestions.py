"""No "Did you mean …?" in production: the hints name fields, arguments, types and enum values, so
they would spell out, error by error, the schema that introspection keeps from anonymous clients.
graphql-core can leave them out (`hide_suggestions`); Strawberry does not pass that option on."""

from __future__ import annotations

from typing import Any

from graphql import ValidationContext, ValidationRule
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class HideSuggestions(ValidationRule):
    """Validation: graphql-core's rules read the option from the context when they report an error."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        context._hide_suggestions = True


class HideSuggestionsExecutor(StrawberryGraphQLCoreExecutionContext):
    """Execution: the coercion of variables (an enum value, an input field) into arguments."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        return super().build(*args, **{**kwargs, "hide_suggestions": True})
