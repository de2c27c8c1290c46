"""R-ROUTE: an app's assignment policy, round robin's turn, and two partial indexes.

`ix_conversation_open_load` answers "how many open conversations has each user of this app" from the
index alone (the load BALANCED and the cap read under the app's routing lock), and
`ix_conversation_queue` reads the app's queue (open, unassigned) oldest first. Partial indexes are
written by hand, as in 0002; same SQL on SQLite and PostgreSQL."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.apps import AssignmentMode

LIVE = "deleted_at IS NULL"

INDEXES = {
    "ix_conversation_open_load": ("app_id, assignee_id", f"status = 'OPEN' AND assignee_id IS NOT NULL AND {LIVE}"),
    "ix_conversation_queue": ("app_id, created_at, id", f"status = 'OPEN' AND assignee_id IS NULL AND {LIVE}"),
}


class Migration(migrations.Migration):
    dependencies = [("models", "0008_stored_files")]

    operations = [
        ops.AddField(
            model_name="MessagingApp",
            name="assignment_mode",
            field=fields.CharEnumField(
                default=AssignmentMode.MANUAL,
                description="MANUAL: MANUAL\nROUND_ROBIN: ROUND_ROBIN\nBALANCED: BALANCED",
                db_default="MANUAL",
                enum_type=AssignmentMode,
                max_length=12,
            ),
        ),
        ops.AddField(
            model_name="MessagingApp",
            name="max_open_per_user",
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name="MessagingApp",
            name="assignment_last_user_id",
            field=fields.IntField(null=True),
        ),
        *(
            ops.RunSQL(
                f"CREATE INDEX {name} ON conversation ({columns}) WHERE {condition}",
                reverse_sql=f"DROP INDEX {name}",
            )
            for name, (columns, condition) in INDEXES.items()
        ),
    ]
