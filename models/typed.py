"""Typed forms of the Tortoise calls whose type hints say less than they do (Tortoise 1.1).

Each is the call itself behind a `cast`: when Tortoise's hints catch up, the helper goes.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar, cast

from tortoise import fields
from tortoise.queryset import QuerySet

E = TypeVar("E", bound=Enum)


def nullable_text(**kwargs: Any) -> fields.Field[str | None]:
    """A TEXT column that may be null: Tortoise types every TextField as holding a str."""
    return cast("fields.Field[str | None]", fields.TextField(null=True, **kwargs))


def nullable_char_enum(enum_type: type[E], max_length: int, **kwargs: Any) -> fields.Field[E | None]:
    """An enum column that may be null: Tortoise types every CharEnumField as holding a member."""
    return cast("fields.Field[E | None]", fields.CharEnumField(enum_type, max_length=max_length, null=True, **kwargs))


async def ids_of(query: QuerySet[Any], field: str = "id") -> list[int]:
    """The values of the integer column `field` (an id or a foreign key) of `query`'s rows, in its order."""
    # Tortoise types `values_list(field, flat=True)` as a list of tuples; flat, it is a list of the values.
    return cast(list[int], await query.values_list(field, flat=True))
