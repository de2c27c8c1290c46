"""docs/schema.graphql is the served schema, committed: a change to the API shows in review as a diff
of that file, and the snapshot never drifts from what the server really serves."""

from __future__ import annotations

import difflib
from pathlib import Path

from schema import build_schema

SNAPSHOT = Path(__file__).parents[2] / "docs" / "schema.graphql"


def test_the_committed_snapshot_is_the_served_schema() -> None:
    served = build_schema().as_str() + "\n"  # what `switchboard export-schema` prints
    committed = SNAPSHOT.read_text() if SNAPSHOT.exists() else ""
    if served != committed:
        diff = difflib.unified_diff(
            committed.splitlines(keepends=True),
            served.splitlines(keepends=True),
            fromfile="docs/schema.graphql (committed)",
            tofile="served by build_schema()",
        )
        raise AssertionError(
            "docs/schema.graphql differs from the served schema. If the change is meant, run `make schema`"
            " and commit docs/schema.graphql.\n" + "".join(diff)
        )
