"""The team inside the inbox (issue 16): comments and mentions (R-COMMENT), labels (R-LABEL)
and canned replies (a shared shortcut is unique through a hand-written partial index, as in 0002).

Written by `tortoise makemigrations`, then edited: the new enum values (Direction.INTERNAL,
NotificationKind.MENTIONED, InboxEventType.COMMENT_ADDED and CONVERSATION_LABELED) need no SQL,
their columns being VARCHARs with no check constraint, so those AlterFields are state-only
(`RecordChoices` of models/migrations/__init__.py, as in 0004): a real AlterField rebuilds the table
on SQLite and loses its indexes."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.events import InboxEventType
from models.inbox import Direction
from models.migrations import RecordChoices
from models.notifications import NotificationKind


def _notification_kind(model_name: str) -> RecordChoices:
    """The `kind` column of a notification, an email item or a notification setting, with MENTIONED."""
    return RecordChoices(
        model_name=model_name,
        name="kind",
        field=fields.CharEnumField(
            description="NEW_MESSAGE_ASSIGNED_TO_ME: NEW_MESSAGE_ASSIGNED_TO_ME\nNEW_MESSAGE_ASSIGNED_TO_OTHERS: NEW_MESSAGE_ASSIGNED_TO_OTHERS\nNEW_MESSAGE_UNASSIGNED: NEW_MESSAGE_UNASSIGNED\nCONVERSATION_ASSIGNED_TO_ME: CONVERSATION_ASSIGNED_TO_ME\nMENTIONED: MENTIONED",
            enum_type=NotificationKind,
            max_length=40,
        ),
    )


def _direction(model_name: str, name: str, *, null: bool) -> RecordChoices:
    """A message's direction, with INTERNAL."""
    return RecordChoices(
        model_name=model_name,
        name=name,
        field=fields.CharEnumField(
            null=null,
            description="INBOUND: INBOUND\nOUTBOUND: OUTBOUND\nINTERNAL: INTERNAL",
            enum_type=Direction,
            max_length=10,
        ),
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0012_search")]

    initial = False

    operations = [
        ops.CreateModel(
            name="MessageMention",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "message",
                    fields.ForeignKeyField(
                        "models.Message",
                        source_field="message_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="mentions",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="mentioned_in",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
            ],
            options={
                "table": "message_mention",
                "app": "models",
                "unique_together": (("message", "user"),),
                "pk_attr": "id",
                "table_description": "A user mentioned in an INTERNAL comment (R-COMMENT): stored with the comment, in its transaction.",
            },
            bases=["Model"],
        ),
        _direction("Conversation", "last_message_direction", null=True),
        _notification_kind("EmailItem"),
        RecordChoices(
            model_name="InboxEvent",
            name="type",
            field=fields.CharEnumField(
                description="CONVERSATION_CREATED: CONVERSATION_CREATED\nMESSAGE_RECEIVED: MESSAGE_RECEIVED\nMESSAGE_SENT: MESSAGE_SENT\nMESSAGE_STATUS_CHANGED: MESSAGE_STATUS_CHANGED\nCONVERSATION_ASSIGNED: CONVERSATION_ASSIGNED\nCONVERSATION_UNASSIGNED: CONVERSATION_UNASSIGNED\nCONVERSATION_CLOSED: CONVERSATION_CLOSED\nCONVERSATION_REOPENED: CONVERSATION_REOPENED\nCONVERSATION_DELETED: CONVERSATION_DELETED\nCONVERSATION_LINKED: CONVERSATION_LINKED\nCONVERSATION_UNLINKED: CONVERSATION_UNLINKED\nCONVERSATION_LABELED: CONVERSATION_LABELED\nCOMMENT_ADDED: COMMENT_ADDED",
                enum_type=InboxEventType,
                max_length=40,
            ),
        ),
        _direction("Message", "direction", null=False),
        _notification_kind("Notification"),
        _notification_kind("NotificationSetting"),
        ops.CreateModel(
            name='Label',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='labels', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=50)),
                ('color', fields.CharField(max_length=7)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'label', 'app': 'models', 'unique_together': (('account', 'name'),), 'pk_attr': 'id', 'table_description': "An account's label (R-LABEL): admins make and remove them, anyone with access sets them."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ConversationLabel',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('label', fields.ForeignKeyField('models.Label', source_field='label_id', db_constraint=True, to_field='id', related_name='conversations', on_delete=OnDelete.CASCADE)),
                ('conversation', fields.ForeignKeyField('models.Conversation', source_field='conversation_id', db_constraint=True, to_field='id', related_name='labels', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'conversation_label', 'app': 'models', 'unique_together': (('label', 'conversation'),), 'indexes': [Index(fields=['conversation_id', 'label_id'])], 'pk_attr': 'id', 'table_description': 'A label set on a conversation (R-LABEL).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CannedReply',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='canned_replies', on_delete=OnDelete.CASCADE)),
                ('owner', fields.ForeignKeyField('models.User', source_field='owner_id', null=True, db_constraint=True, to_field='id', related_name='canned_replies', on_delete=OnDelete.CASCADE)),
                ('shortcut', fields.CharField(max_length=32)),
                ('text', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'canned_reply', 'app': 'models', 'unique_together': (('owner', 'shortcut'),), 'indexes': [Index(fields=['account_id', 'shortcut'])], 'pk_attr': 'id', 'table_description': "A saved reply: the owner's own, or shared with the whole team when `owner` is null."},
            bases=['Model'],
        ),
        ops.RunSQL(
            "CREATE UNIQUE INDEX ux_canned_reply_shared ON canned_reply (account_id, shortcut) WHERE owner_id IS NULL",
            reverse_sql="DROP INDEX ux_canned_reply_shared",
        ),
    ]
