"""The served schema keeps ../shared/contract.graphql: nothing renamed or dropped, except what later
issues still owe. OWED only shrinks: whoever lands an item removes it here (the test says so)."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import GraphQLObjectType, GraphQLSchema, find_breaking_changes
from graphql import build_schema as parse_sdl

from schema import build_schema

CONTRACT = Path(__file__).parents[2].parent / "shared" / "contract.graphql"

# item ("Type" or "Type.field") -> the issue that owes it
OWED: dict[str, int] = {}

REMOVED_TYPE = re.compile(r"^(?:Standard scalar )?(\w+) was removed")
REMOVED_FIELD = re.compile(r"^Field (\w+\.\w+) was removed\.$")


def _served() -> GraphQLSchema:
    return parse_sdl(build_schema().as_str())  # exactly what `switchboard export-schema` prints


def _contract() -> GraphQLSchema:
    return parse_sdl(CONTRACT.read_text())


def _is_owed(description: str, contract: GraphQLSchema) -> bool:
    if match := REMOVED_FIELD.match(description):
        return match[1] in OWED
    if match := REMOVED_TYPE.match(description):
        name = match[1]
        if name in OWED:
            return True
        # a type absent as a whole (Subscription) is owed when each of its fields is
        type_ = contract.get_type(name)
        return isinstance(type_, GraphQLObjectType) and all(f"{name}.{field}" in OWED for field in type_.fields)
    return False


def _present(item: str, served: GraphQLSchema) -> bool:
    type_name, _, field = item.partition(".")
    type_ = served.get_type(type_name)
    if not field:
        return type_ is not None
    return isinstance(type_, GraphQLObjectType) and field in type_.fields


def test_the_served_schema_breaks_nothing_in_the_contract_but_what_is_owed() -> None:
    contract = _contract()
    changes = find_breaking_changes(contract, _served())
    unexpected = [f"{change.type.name}: {change.description}" for change in changes if not _is_owed(change.description, contract)]
    assert not unexpected, "breaking changes against contract.graphql:\n" + "\n".join(unexpected)


def test_the_owed_list_names_only_what_is_still_missing() -> None:
    served, contract = _served(), _contract()
    landed = sorted(item for item in OWED if _present(item, served))
    assert not landed, f"these have landed: remove them from OWED in {__file__}: {landed}"
    unknown = sorted(item for item in OWED if not _present(item, contract))
    assert not unknown, f"OWED names what the contract does not have: {unknown}"
