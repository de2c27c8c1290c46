"""R-MEDIA (issue 14): the file store's rows (uploads, outbound and inbound attachments)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.files import FileState


class Migration(migrations.Migration):
    dependencies = [("models", "0007_message_templates")]

    operations = [
        ops.CreateModel(
            name="StoredFile",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("account_id", fields.IntField()),
                ("uploaded_by_id", fields.IntField(null=True)),
                ("message_id", fields.IntField(null=True)),
                ("conversation_id", fields.IntField(null=True, db_index=True)),
                ("position", fields.IntField(null=True)),
                (
                    "state",
                    fields.CharEnumField(
                        description="PENDING: PENDING\nSTORED: STORED\nUNAVAILABLE: UNAVAILABLE",
                        enum_type=FileState,
                        max_length=12,
                    ),
                ),
                ("key", fields.CharField(null=True, max_length=255)),
                ("source_url", fields.TextField(null=True, unique=False)),
                ("filename", fields.CharField(null=True, max_length=255)),
                ("content_type", fields.CharField(null=True, max_length=127)),
                ("size", fields.BigIntField(null=True)),
                ("attempts", fields.IntField(default=0)),
                ("next_attempt_at", fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ("expires_at", fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "stored_file",
                "app": "models",
                "unique_together": (("message_id", "position"),),
                "pk_attr": "id",
                "table_description": "One file of the file store (R-MEDIA).",
            },
            bases=["Model"],
        ),
    ]
