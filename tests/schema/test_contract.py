"""The served schema keeps the public API contract: nothing renamed or dropped, except what later
issues still owe. OWED only shrinks: whoever lands an item removes it here (the test says so).

The contract is docs/contract.graphql, the project's own copy, always. Where the team's shared copy
sits beside the checkout (../shared/contract.graphql) the served schema is held against it too, with
the same OWED; under CI=true that file must be there."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    find_breaking_changes,
)
from graphql import build_schema as parse_sdl

from schema import build_schema

ROOT = Path(__file__).parents[2]
CONTRACT = ROOT / "docs" / "contract.graphql"
SHARED_CONTRACT = ROOT.parent / "shared" / "contract.graphql"

# item -> the issue that owes it. An item is a schema coordinate: "Type", "Type.field" (also an
# enum value, "Direction.INTERNAL") or "Type.field(argument:)".
OWED: dict[str, int] = {}

# The schema coordinate a breaking change is about, read from graphql-core's description.
UNION_MEMBER = re.compile(r"^\w+ was removed from union type (\w+)\.$")
COORDINATE = re.compile(
    r"^(?:(?:Field|Enum value|Argument|A required argument|A required field|Standard scalar) )?(\w+(?:\.\w+(?:\(\w+:\))?)?)"
)


def _item(description: str) -> str | None:
    if match := UNION_MEMBER.match(description):
        return match[1]
    if match := COORDINATE.match(description):
        return match[1]
    return None


def _prefixes(item: str) -> list[str]:
    """ "T.f(a:)" -> ["T", "T.f", "T.f(a:)"]: an item is owed (or missing) with what holds it."""
    type_name, _, rest = item.partition(".")
    field, _, _ = rest.partition("(")
    found = [type_name]
    if field:
        found.append(f"{type_name}.{field}")
    if "(" in rest:
        found.append(item)
    return found


def _served() -> GraphQLSchema:
    return parse_sdl(build_schema().as_str())  # exactly what `switchboard export-schema` prints


@pytest.fixture(params=["docs", "shared"])
def contract(request: pytest.FixtureRequest) -> GraphQLSchema:
    """docs/contract.graphql; and the shared copy beside the checkout, where there is one."""
    path = CONTRACT
    if request.param == "shared":
        if not SHARED_CONTRACT.exists():
            if os.environ.get("CI") == "true":
                pytest.fail(f"{SHARED_CONTRACT} is missing: under CI=true the served schema is held against it")
            pytest.skip(f"no shared contract beside the checkout ({SHARED_CONTRACT}); docs/contract.graphql is checked")
        path = SHARED_CONTRACT
    return parse_sdl(path.read_text())


def _is_owed(item: str | None, contract: GraphQLSchema) -> bool:
    if item is None:
        return False
    if any(prefix in OWED for prefix in _prefixes(item)):
        return True
    # a type absent as a whole (Subscription) is owed when each of its fields is
    type_ = contract.get_type(item)
    return isinstance(type_, GraphQLObjectType) and all(f"{item}.{field}" in OWED for field in type_.fields)


def _present(item: str, schema: GraphQLSchema) -> bool:
    match = re.fullmatch(r"(\w+)(?:\.(\w+)(?:\((\w+):\))?)?", item)
    if match is None:
        return False
    type_name, member, argument = match.groups()
    type_ = schema.get_type(type_name)
    if type_ is None or member is None:
        return type_ is not None
    if isinstance(type_, GraphQLEnumType):
        return argument is None and member in type_.values
    if not isinstance(type_, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
        return False
    field = type_.fields.get(member)
    if field is None or argument is None:
        return field is not None
    return argument in getattr(field, "args", {})


def test_the_served_schema_breaks_nothing_in_the_contract_but_what_is_owed(contract: GraphQLSchema) -> None:
    changes = find_breaking_changes(contract, _served())
    unexpected = [
        f"{change.type.name}: {change.description}"
        for change in changes
        if not _is_owed(_item(change.description), contract)
    ]
    assert not unexpected, "breaking changes against the contract:\n" + "\n".join(unexpected)


def test_the_owed_list_names_only_what_is_still_missing(contract: GraphQLSchema) -> None:
    missing = {item for change in find_breaking_changes(contract, _served()) if (item := _item(change.description))}
    unknown = sorted(item for item in OWED if not _present(item, contract))
    assert not unknown, f"OWED names what the contract does not have: {unknown}"
    landed = sorted(item for item in OWED if not any(prefix in missing for prefix in _prefixes(item)))
    assert not landed, f"these have landed: remove them from OWED in {__file__}: {landed}"
