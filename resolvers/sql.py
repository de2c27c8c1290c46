"""Hand-written SQL for the few hot statements where building the query through the ORM costs
more CPU than the database spends on it (the inbound path: docs/DESIGN.md §5)."""

from __future__ import annotations

import re
from typing import Any

from tortoise import connections

_NUMBERED = re.compile(r"\$\d+")


async def fetch(query: str, *values: Any) -> list[dict[str, Any]]:
    """Rows of `query` on the current connection (the transaction's, inside one). Parameters are
    written `$1`, `$2` … in the order they appear; SQLite gets them as `?`."""
    connection = connections.get("default")
    if connection.capabilities.dialect != "postgres":
        query = _NUMBERED.sub("?", query)
    return await connection.execute_query_dict(query, list(values))
