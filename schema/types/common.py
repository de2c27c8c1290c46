"""What the types share: the Node interface, pages (`Connection[N]` of `Edge[N]`, with PageInfo),
enums described for GraphQL, and the arguments several fields take."""

from __future__ import annotations

import copy
import dataclasses
import types
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Annotated, Any, Generic, Protocol, Self, TypeVar, get_args, get_origin

import strawberry

from resolvers.ids import to_api_id


def describe_enum(cls: type[Enum], name: str, description: str, values: dict[str, str]) -> None:
    """Makes an enum of models/ or resolvers/ the GraphQL enum `name`, with a description per value:
    those layers know nothing of GraphQL, so `strawberry.enum_value` cannot sit there. Strawberry
    registers the definition on `cls` itself, so fields are annotated with `cls` (or an alias of it)."""
    strawberry.enum(cls, name=name, description=description)
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]  # set by strawberry.enum at run time
    unknown = set(values) - {value.name for value in definition.values}
    if unknown:
        raise ValueError(f"{name} has no values {sorted(unknown)}")
    for value in definition.values:
        value.description = values.get(value.name)


First = Annotated[int | None, strawberry.argument(description="Page size, 1 to 100 (VALIDATION_FAILED outside).")]
After = Annotated[
    str | None,
    strawberry.argument(
        description="The previous page's `pageInfo.endCursor`: this page starts after it. "
        "A malformed cursor is VALIDATION_FAILED."
    ),
]
ConversationId = Annotated[
    strawberry.ID, strawberry.argument(description="The conversation's id; NOT_FOUND if the viewer cannot see it.")
]


@strawberry.interface(description="An object with a global id; `node(id:)` fetches any of them.")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global id: pass it back as it comes.")


@strawberry.type(
    description="Where a page sits in its list. Lists page by keyset: pass `endCursor` as `after` for the next page."
)
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Whether items follow this page: paging forwards, whether more remain; paging backwards "
        "(`last`), whether the page ended at a `before` cursor."
    )
    has_previous_page: bool = strawberry.field(
        description="Whether items come before this page: paging backwards (`last`), whether older ones remain; "
        "paging forwards, whether the page started at an `after` cursor."
    )
    start_cursor: str | None = strawberry.field(description="The first item's cursor; null on an empty page.")
    end_cursor: str | None = strawberry.field(description="The last item's cursor, for `after`; null on an empty page.")

    @classmethod
    def of(cls, edges: Sequence[Any], *, has_next: bool, has_previous: bool) -> PageInfo:
        """For a page of edges that each have a `cursor`."""
        return cls(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )


W = TypeVar("W")


def wrap(cls: Callable[..., W], type_name: str, row: Any, scalars: tuple[str, ...] = ()) -> W:
    """A type over `row` (its `row`, and `id` as the API gives it) with the scalar fields named
    copied: a plain attribute costs graphql-core a getattr, a method field a whole resolver call,
    for every row of a page."""
    make = _wrappers.get((cls, scalars))
    if make is None:
        make = _wrappers[(cls, scalars)] = _wrapper(cls, scalars)
    return make(type_name, row)  # type: ignore[no-any-return]


_wrappers: dict[tuple[Any, tuple[str, ...]], Callable[[str, Any], Any]] = {}


def _wrapper(cls: Any, scalars: tuple[str, ...]) -> Callable[[str, Any], Any]:
    """What `wrap` makes of a row of `cls`, without the dataclass constructor's keyword call: the
    attributes it would set, set on a new object by a function written once per type (when they are
    all of the type's own fields)."""
    fields = dataclasses.fields(cls)
    initialised = {field.name for field in fields if field.init}
    defaulted = any(
        field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
        for field in fields
        if not field.init
    )
    if initialised != {"id", "row", *scalars} or defaulted or hasattr(cls, "__post_init__"):
        return lambda type_name, row: cls(
            id=strawberry.ID(to_api_id(type_name, row.id)), row=row, **{name: getattr(row, name) for name in scalars}
        )
    names: dict[str, Any] = {"new": cls.__new__, "cls": cls, "to_api_id": to_api_id}
    lines = [
        "def make(type_name, row):",
        " made = new(cls)",
        " made.id = to_api_id(type_name, row.id)",
        " made.row = row",
    ]
    if not all(name.isidentifier() for name in scalars):
        raise ValueError(f"not attribute names: {scalars}")
    lines += [f" made.{name} = row.{name}" for name in scalars]
    exec("\n".join([*lines, " return made"]), names)
    make: Callable[[str, Any], Any] = names["make"]
    return make


N = TypeVar("N")
Row = TypeVar("Row", covariant=True)


class Page(Protocol[Row]):
    """A page as resolvers/ return it: its rows, and whether more come either way."""

    @property
    def rows(self) -> Sequence[Row]: ...
    @property
    def has_next(self) -> bool: ...
    @property
    def has_previous(self) -> bool: ...


@strawberry.type
class Edge(Generic[N]):
    cursor: str
    node: N


@strawberry.type
class Connection(Generic[N]):
    """A page of one list. Each list is a subclass, e.g. `MessageConnection(Connection[Message])`,
    made a GraphQL type of its own (with its edge type) by `connection`."""

    edges: list[Edge[N]]
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page[Row], cursor: Callable[[Row], str], node: Callable[[Row], N], **fields: Any) -> Self:
        """`page`'s rows as edges: `cursor(row)`, and `node(row)` as the node."""
        edges = [Edge(cursor=cursor(row), node=node(row)) for row in page.rows]
        page_info = PageInfo.of(edges, has_next=page.has_next, has_previous=page.has_previous)
        return cls(edges=edges, page_info=page_info, **fields)


C = TypeVar("C", bound=Connection[Any])


def connection(
    description: str,
    *,
    edges: str,
    page_info: str = "Cursors, and whether more follow.",
    edge: str | None = None,
    cursor: str | None = None,
    node: str | None = None,
) -> Callable[[type[C]], type[C]]:
    """Makes `class XConnection(Connection[X])` the GraphQL type XConnection, whose edges are the
    type XEdge. Strawberry gives every specialization of a generic the generic's descriptions, so
    each list's own are set here. Unless given, an edge is "A x and its place in the list.", its
    cursor "Pass it as `after` to continue after this x." and its node "The x."."""

    def decorate(cls: type[C]) -> type[C]:
        bases = cls.__orig_bases__  # type: ignore[attr-defined]
        [node_type] = next(get_args(base) for base in bases if get_origin(base) is Connection)
        noun = node_type.__name__.lower()
        edge_type = strawberry.type(
            types.new_class(f"{node_type.__name__}Edge", (Edge[node_type],)),  # type: ignore[valid-type]
            description=edge or f"A {noun} and its place in the list.",
        )
        _reword(
            edge_type,
            cursor=cursor or f"Pass it as `after` to continue after this {noun}.",
            node=node or f"The {noun}.",
        )
        connection_type = strawberry.type(cls, description=description)
        _reword(connection_type, edges=edges, page_info=page_info)
        _field(connection_type, "edges").type = list[edge_type]  # type: ignore[valid-type]  # its copy (_reword)
        return connection_type

    return decorate


def _reword(cls: type, **descriptions: str) -> None:
    """Gives `cls` copies of the fields named, with these descriptions: the fields it inherits
    are the generic's own, which every other list shares."""
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    unknown = set(descriptions) - {field.python_name for field in definition.fields}
    if unknown:
        raise ValueError(f"{cls.__name__} has no fields {sorted(unknown)}")
    for index, field in enumerate(definition.fields):
        if field.python_name in descriptions:
            definition.fields[index] = copy.copy(field)
            definition.fields[index].description = descriptions[field.python_name]


def _field(cls: type, name: str) -> Any:
    return next(field for field in cls.__strawberry_definition__.fields if field.python_name == name)  # type: ignore[attr-defined]
