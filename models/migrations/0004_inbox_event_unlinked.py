"""InboxEventType.CONVERSATION_UNLINKED (issue 11 item 5): unlinking no longer emits CONVERSATION_LINKED.

The column is a VARCHAR(40) with no check constraint, so the new value needs no SQL: only the
recorded choices change. Written by `tortoise makemigrations`, then made state-only, because its
AlterField rebuilds the table on SQLite and the copy loses the (account_id, id) index."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.events import InboxEventType
from models.migrations import RecordChoices


class Migration(migrations.Migration):
    dependencies = [("models", "0003_user_status")]

    operations = [
        RecordChoices(
            model_name="InboxEvent",
            name="type",
            field=fields.CharEnumField(
                description="CONVERSATION_CREATED: CONVERSATION_CREATED\nMESSAGE_RECEIVED: MESSAGE_RECEIVED\n"
                "MESSAGE_SENT: MESSAGE_SENT\nMESSAGE_STATUS_CHANGED: MESSAGE_STATUS_CHANGED\n"
                "CONVERSATION_ASSIGNED: CONVERSATION_ASSIGNED\nCONVERSATION_UNASSIGNED: CONVERSATION_UNASSIGNED\n"
                "CONVERSATION_CLOSED: CONVERSATION_CLOSED\nCONVERSATION_REOPENED: CONVERSATION_REOPENED\n"
                "CONVERSATION_DELETED: CONVERSATION_DELETED\nCONVERSATION_LINKED: CONVERSATION_LINKED\n"
                "CONVERSATION_UNLINKED: CONVERSATION_UNLINKED",
                enum_type=InboxEventType,
                max_length=40,
            ),
        ),
    ]
