"""The migrations (the numbered modules), and the operations more than one of them uses."""

from typing import Any

from tortoise.migrations import operations as ops


class RecordChoices(ops.AlterField):
    """An AlterField for the migration state only: the database is left as it is.

    For the new values of an enum column: a VARCHAR with no check constraint takes them without SQL, and a real
    AlterField rebuilds the table on SQLite, whose copy loses the table's indexes. Applied migrations use it:
    it must stay a no-op."""

    async def database_forward(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def database_backward(self, *args: Any, **kwargs: Any) -> None:
        return None
