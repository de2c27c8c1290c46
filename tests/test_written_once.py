"""Rules the code writes in one place only, so a change to one of them is made once (issue 11).

Given the source tree, when it is searched for another spelling of the rule, then none is found."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tortoise.fields.data import CharEnumFieldInstance

import models

ROOT = Path(__file__).resolve().parents[1]
SERVER = ("models", "resolvers", "schema", "providers", "subscriptions", "app.py", "cli.py", "settings.py")


def _sources(*places: str) -> dict[str, str]:
    files: list[Path] = []
    for place in places:
        path = ROOT / place
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return {file.relative_to(ROOT).as_posix(): file.read_text() for file in files}


def _where(pattern: str, *places: str) -> set[str]:
    found = re.compile(pattern)
    return {name for name, text in _sources(*places).items() if found.search(text)}


def test_only_resolvers_access_asks_which_apps_a_viewer_sees() -> None:
    # Viewer.app_ids() reads them from the database; nothing but resolvers/access.py calls it.
    assert _where(r"\.app_ids\(", *SERVER) == {"resolvers/access.py"}


def test_only_models_sql_asks_which_database_this_is() -> None:
    assert _where(r"capabilities\.dialect", *SERVER, "tests", "bench") - {"tests/test_written_once.py"} == {
        "models/sql.py"
    }


def test_hand_written_sql_and_advisory_locks_live_in_models_sql() -> None:
    assert _where(r"pg_advisory|execute_query_dict|\$1\b", *SERVER) == {"models/sql.py"}


def test_the_link_to_a_conversation_is_built_in_one_place() -> None:
    assert _where(r"/inbox/conversations/", *SERVER) == {"resolvers/links.py"}


def _enum_fields() -> set[str]:
    """Names of the model fields stored as enums (status, kind, role …)."""
    names: set[str] = set()
    for value in vars(models).values():
        meta = getattr(value, "_meta", None)
        if isinstance(value, type) and meta is not None:
            names |= {name for name, field in meta.fields_map.items() if isinstance(field, CharEnumFieldInstance)}
    return names


def _enum_field(node: ast.expr, enum_fields: set[str]) -> str | None:
    """`row.status` or `row.status.value`: the enum field's name."""
    if isinstance(node, ast.Attribute) and node.attr == "value":
        node = node.value
    return node.attr if isinstance(node, ast.Attribute) and node.attr in enum_fields else None


def _is_string(node: ast.expr) -> bool:
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_is_string(element) for element in node.elts)
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def test_enum_fields_are_compared_to_enum_members_not_to_strings() -> None:
    enum_fields = _enum_fields()
    assert {"status", "kind", "role", "provider", "direction", "type"} <= enum_fields
    offences = []
    for name, text in _sources("resolvers", "schema", "providers", "subscriptions", "app.py").items():
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            fields = [_enum_field(side, enum_fields) for side in sides if _enum_field(side, enum_fields)]
            if fields and any(_is_string(side) for side in sides):
                offences.append(f"{name}:{node.lineno} compares .{fields[0]} to a string")
    assert offences == []
