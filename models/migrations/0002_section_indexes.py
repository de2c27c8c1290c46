"""One partial index per inbox section (R-SECTION), written by hand: the autodetector cannot
express partial indexes. PostgreSQL cannot serve `assignee_id IS NULL ... ORDER BY time` from a
composite index, and a partial index keeps each section's scan to its own rows. Same SQL on
SQLite and PostgreSQL.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

LIVE = "deleted_at IS NULL"

INDEXES = {
    "ix_conversation_unassigned": ("account_id, last_message_at DESC, id DESC", f"status = 'OPEN' AND assignee_id IS NULL AND {LIVE}"),
    "ix_conversation_assigned": ("assignee_id, last_message_at DESC, id DESC", f"status = 'OPEN' AND {LIVE}"),
    "ix_conversation_assigned_any": ("account_id, last_message_at DESC, id DESC", f"status = 'OPEN' AND assignee_id IS NOT NULL AND {LIVE}"),
    "ix_conversation_closed": ("account_id, last_message_at DESC, id DESC", f"status = 'CLOSED' AND {LIVE}"),
}


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    operations = [
        ops.RunSQL(
            f"CREATE INDEX {name} ON conversation ({columns}) WHERE {condition}",
            reverse_sql=f"DROP INDEX {name}",
        )
        for name, (columns, condition) in INDEXES.items()
    ]
