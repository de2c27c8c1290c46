"""Lists as `Connection[T]` of `Edge[T]`: each list is a GraphQL type of its own, XConnection with
XEdge, described in its own words, and `Connection.of` turns a page of rows into edges and PageInfo."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from graphql import GraphQLObjectType
from graphql import build_schema as parse_sdl

from schema.types.common import Connection, connection


@strawberry.type
class Fruit:
    name: str


@strawberry.type
class Tree:
    name: str


@connection("A page of fruit.", edges="This page's fruit.")
class FruitConnection(Connection[Fruit]):
    pass


@connection(
    "A page of trees.",
    edges="This page's trees.",
    page_info="Whether the forest goes on.",
    edge="A tree and its place in the forest.",
    cursor="Pass it as `after` to walk on.",
    node="The tree itself.",
)
class TreeConnection(Connection[Tree]):
    total_count: int = strawberry.field(description="Trees in the forest.")


@dataclass
class Page:
    rows: list[str]
    has_next: bool
    has_previous: bool


@strawberry.type
class Query:
    @strawberry.field
    def fruit(self) -> FruitConnection:
        page = Page(rows=["apple", "pear"], has_next=True, has_previous=False)
        return FruitConnection.of(page, lambda name: f"cursor-{name}", lambda name: Fruit(name=name))

    @strawberry.field
    def trees(self) -> TreeConnection:
        return TreeConnection.of(Page(rows=[], has_next=False, has_previous=True), str, Tree, total_count=7)


SCHEMA = strawberry.Schema(Query)


def _descriptions(type_name: str) -> dict[str, str | None]:
    served = parse_sdl(SCHEMA.as_str()).get_type(type_name)
    assert isinstance(served, GraphQLObjectType), type_name
    return {"": served.description, **{name: field.description for name, field in served.fields.items()}}


def test_each_list_is_a_type_of_its_own_in_its_own_words() -> None:
    assert _descriptions("FruitConnection") == {
        "": "A page of fruit.",
        "edges": "This page's fruit.",
        "pageInfo": "Cursors, and whether more follow.",
    }
    assert _descriptions("FruitEdge") == {
        "": "A fruit and its place in the list.",
        "cursor": "Pass it as `after` to continue after this fruit.",
        "node": "The fruit.",
    }
    assert _descriptions("TreeConnection") == {
        "": "A page of trees.",
        "edges": "This page's trees.",
        "pageInfo": "Whether the forest goes on.",
        "totalCount": "Trees in the forest.",
    }
    assert _descriptions("TreeEdge") == {
        "": "A tree and its place in the forest.",
        "cursor": "Pass it as `after` to walk on.",
        "node": "The tree itself.",
    }
    assert "edges: [FruitEdge!]!" in SCHEMA.as_str()


def test_a_page_of_rows_becomes_edges_and_page_info() -> None:
    result = SCHEMA.execute_sync(
        "{ fruit { edges { cursor node { name } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } }"
        "  trees { edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount } }"
    )

    assert result.errors is None
    assert result.data == {
        "fruit": {
            "edges": [
                {"cursor": "cursor-apple", "node": {"name": "apple"}},
                {"cursor": "cursor-pear", "node": {"name": "pear"}},
            ],
            "pageInfo": {
                "hasNextPage": True,
                "hasPreviousPage": False,
                "startCursor": "cursor-apple",
                "endCursor": "cursor-pear",
            },
        },
        "trees": {
            "edges": [],
            "pageInfo": {"hasNextPage": False, "hasPreviousPage": True, "startCursor": None, "endCursor": None},
            "totalCount": 7,
        },
    }
