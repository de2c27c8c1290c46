"""GraphiQL's docs pane shows the schema's descriptions and nothing else: every type, field,
argument and enum value of the contract that the server serves carries one (issue 10 item 7),
and so does every object type the server serves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    is_introspection_type,
    is_specified_scalar_type,
)
from graphql import build_schema as parse_sdl

from schema import build_schema

CONTRACT = Path(__file__).parents[2] / "docs" / "contract.graphql"

WithFields = GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType


def _served() -> GraphQLSchema:
    return parse_sdl(build_schema().as_str())  # exactly what `switchboard export-schema` prints


def _ours(schema: GraphQLSchema) -> Iterator[GraphQLNamedType]:
    for type_ in schema.type_map.values():
        if not is_introspection_type(type_) and not is_specified_scalar_type(type_):
            yield type_


def _parts(type_: GraphQLNamedType, twin: GraphQLNamedType) -> Iterator[tuple[str, str | None, str | None]]:
    """(name, served description, contract description) of a type and of its fields, arguments
    and enum values, where the contract has them too."""
    yield type_.name, type_.description, twin.description
    if isinstance(type_, WithFields) and isinstance(twin, WithFields):
        for name, field in type_.fields.items():
            if (twin_field := twin.fields.get(name)) is None:
                continue
            yield f"{type_.name}.{name}", field.description, twin_field.description
            for arg_name, arg in getattr(field, "args", {}).items():
                if (twin_arg := getattr(twin_field, "args", {}).get(arg_name)) is not None:
                    yield f"{type_.name}.{name}({arg_name}:)", arg.description, twin_arg.description
    if isinstance(type_, GraphQLEnumType) and isinstance(twin, GraphQLEnumType):
        for name, value in type_.values.items():
            if (twin_value := twin.values.get(name)) is not None:
                yield f"{type_.name}.{name}", value.description, twin_value.description


def test_every_served_part_of_the_contract_has_a_description() -> None:
    # given the contract and the schema `switchboard export-schema` prints
    if not CONTRACT.exists():
        pytest.skip(f"{CONTRACT} is not in this checkout")
    contract, served = parse_sdl(CONTRACT.read_text()), _served()
    # when each type, field, argument and enum value both have is looked at
    parts = [
        part
        for type_ in _ours(served)
        if (twin := contract.type_map.get(type_.name)) is not None
        for part in _parts(type_, twin)
    ]
    # then each one tells a client developer what it is
    missing = [
        f"{name}  (the contract says: {said!r})" if said else name
        for name, text, said in parts
        if not (text or "").strip()
    ]
    assert len(parts) > 300, "the served schema and the contract share far less than expected"
    assert not missing, f"{len(missing)} of {len(parts)} have no description:\n" + "\n".join(missing)


def test_every_served_object_type_has_a_description() -> None:
    # given the schema `switchboard export-schema` prints
    served = _served()
    # then no object type, roots included, is left blank in GraphiQL's docs
    blank = sorted(
        t.name for t in _ours(served) if isinstance(t, GraphQLObjectType) and not (t.description or "").strip()
    )
    assert not blank, f"object types without a description: {blank}"
