"""Rows read for display: a model's columns as plain attributes, without a Tortoise model per row.

Building a model (`_init_from_db`) costs a call per converted field and four overridden
`__setattr__` calls per object; a page of 50 conversations with contact, assignee and last message
builds 200 of them (issue 12). A row here is an object of a class made once per model, with
`__slots__` for its columns (foreign keys as `<name>_id`) and for the related rows a join read
(`_<name>`), filled by a function generated once per model and database: only the columns the
driver does not already hand over as the ORM would are converted (PostgreSQL: enums; SQLite:
everything the ORM converts), and JSON columns only when read. A row reads like its model for
every column and `pk`; it cannot be saved nor follow a relation: code that writes reads its own
models.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from functools import partial
from typing import Any, TypeVar

from tortoise.fields.data import CharEnumFieldInstance, DatetimeField, IntEnumFieldInstance, JSONField
from tortoise.models import Model

M = TypeVar("M", bound=Model)


class Row:
    """What every row class shares; each model's own is made by `row_class`."""

    __slots__ = ()
    model: type[Model]

    @property
    def pk(self) -> Any:
        return self.id  # type: ignore[attr-defined]  # every model here has an `id` primary key

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.pk == self.pk

    def __hash__(self) -> int:
        return hash(self.pk)

    def __repr__(self) -> str:
        return f"<{self.model.__name__} row: {self.pk}>"


_CLASSES: dict[type[Model], type[Row]] = {}
_READERS: dict[tuple[type[Model], str, str], Callable[[Mapping[str, Any]], Any]] = {}


def row_class(model: type[Model]) -> type[Row]:
    """The row class of `model` (made once): a slot per column, and per foreign key one for its
    joined row."""
    found = _CLASSES.get(model)
    if found is None:
        meta = model._meta
        lazy = _lazy_fields(model)
        slots = (
            *(f"_raw_{name}" if name in lazy else name for name in meta.fields_db_projection),
            *(f"_{name}" for name in meta.fk_fields | meta.o2o_fields),
        )
        namespace: dict[str, Any] = {"__slots__": slots, "model": model}
        for name, field in lazy.items():
            namespace[name] = property(partial(_decoded, f"_raw_{name}", field.to_python_value))
        found = _CLASSES[model] = type(f"{model.__name__}Row", (Row,), namespace)
    return found


def _lazy_fields(model: type[Model]) -> dict[str, Any]:
    """JSON columns: kept as read and decoded when read (most pages never show them)."""
    return {name: field for name, field in model._meta.fields_map.items() if isinstance(field, JSONField)}


def _decoded(raw: str, decode: Callable[[Any], Any], row: Row) -> Any:
    return decode(getattr(row, raw))


def reader(model: type[M], dialect: str, prefix: str = "") -> Callable[[Mapping[str, Any]], M]:
    """A function of one fetched row (a dict or an asyncpg Record, its columns named
    `prefix + column`) to a row of `model`, converted as the ORM converts its own reads.
    Typed as the model: a row reads like it (see the module's docstring)."""
    key = (model, dialect, prefix)
    found = _READERS.get(key)
    if found is None:
        found = _READERS[key] = _generate(model, dialect, prefix)
    return found


def read(model: type[M], dialect: str, records: Iterable[Mapping[str, Any]]) -> list[M]:
    make = reader(model, dialect)
    return [make(record) for record in records]


def _converter(field: Any, native: bool, dialect: str) -> Callable[[Any], Any] | None:
    """None where the driver's value is what the ORM would make of it."""
    if native:
        return None
    if dialect == "postgres":
        if isinstance(field, CharEnumFieldInstance | IntEnumFieldInstance):
            return _enum_lookup(field.enum_type)
        if isinstance(field, DatetimeField):
            return None  # asyncpg gives aware datetimes in UTC, the ORM's default timezone
        if field.field_type is bool:
            return None
    to_python: Callable[[Any], Any] = field.to_python_value
    return to_python


def _enum_lookup(enum_type: type[Enum]) -> Callable[[Any], Any]:
    members: dict[Any, Any] = {member.value: member for member in enum_type}
    members[None] = None
    return members.__getitem__


def _generate(model: type[Model], dialect: str, prefix: str) -> Callable[[Mapping[str, Any]], Any]:
    meta = model._meta
    native = {key for key, _, _ in meta.db_native_fields}
    cls = row_class(model)
    names: dict[str, Any] = {"new": cls.__new__, "cls": cls}
    lines = ["def make(r):", " o = new(cls)"]
    lazy = _lazy_fields(model)
    for index, (attribute, column) in enumerate(meta.fields_db_projection.items()):
        value = f"r[{prefix + column!r}]"
        if attribute in lazy:
            lines.append(f" o._raw_{attribute} = {value}")
            continue
        convert = _converter(meta.fields_map[attribute], column in native, dialect)
        if convert is not None:
            names[f"c{index}"] = convert
            value = f"c{index}({value})"
        lines.append(f" o.{attribute} = {value}")
    lines.append(" return o")
    exec("\n".join(lines), names)  # one assignment per column: no loop per row
    made: Callable[[Mapping[str, Any]], Any] = names["make"]
    return made
