from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.accounts import Role
from models.apps import Provider
from models.events import InboxEventType
from models.inbox import ConversationStatus, DeliveryStatus, Direction
from models.notifications import EmailStatus, NotificationKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Account',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'account', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InboxEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account_id', fields.IntField()),
                ('app_id', fields.IntField()),
                ('conversation_id', fields.IntField()),
                ('message_id', fields.IntField(null=True)),
                ('actor_id', fields.IntField(null=True)),
                ('type', fields.CharEnumField(description='CONVERSATION_CREATED: CONVERSATION_CREATED\nMESSAGE_RECEIVED: MESSAGE_RECEIVED\nMESSAGE_SENT: MESSAGE_SENT\nMESSAGE_STATUS_CHANGED: MESSAGE_STATUS_CHANGED\nCONVERSATION_ASSIGNED: CONVERSATION_ASSIGNED\nCONVERSATION_UNASSIGNED: CONVERSATION_UNASSIGNED\nCONVERSATION_CLOSED: CONVERSATION_CLOSED\nCONVERSATION_REOPENED: CONVERSATION_REOPENED\nCONVERSATION_DELETED: CONVERSATION_DELETED\nCONVERSATION_LINKED: CONVERSATION_LINKED', enum_type=InboxEventType, max_length=40)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'inbox_event', 'app': 'models', 'indexes': [Index(fields=['account_id', 'id'])], 'pk_attr': 'id', 'table_description': 'The outbox of real time: written in the transaction of the change, published after commit.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='users', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=200)),
                ('email', fields.CharField(max_length=320)),
                ('role', fields.CharEnumField(default=Role.MEMBER, description='ADMIN: ADMIN\nMEMBER: MEMBER', enum_type=Role, max_length=10)),
                ('available', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'user', 'app': 'models', 'unique_together': (('account', 'email'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ApiToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE)),
                ('digest', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_token', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A bearer token, stored as its SHA-256 digest: the token itself is shown once.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MessagingApp',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='apps', on_delete=OnDelete.CASCADE)),
                ('provider', fields.CharEnumField(description='TWILIO_WHATSAPP: TWILIO_WHATSAPP\nMESSENGER: MESSENGER\nAPI: API', enum_type=Provider, max_length=20)),
                ('name', fields.CharField(max_length=200)),
                ('installed_by', fields.ForeignKeyField('models.User', source_field='installed_by_id', db_constraint=True, to_field='id', related_name='installed_apps', on_delete=OnDelete.RESTRICT)),
                ('credentials_encrypted', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'messaging_app', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AppAccess',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('app', fields.ForeignKeyField('models.MessagingApp', source_field='app_id', db_constraint=True, to_field='id', related_name='access', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='app_access', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'app_access', 'app': 'models', 'unique_together': (('app', 'user'),), 'pk_attr': 'id', 'table_description': "Shared access: the users who see an app's conversations (the installer always has a row)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Contact',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='contacts', on_delete=OnDelete.CASCADE)),
                ('app', fields.ForeignKeyField('models.MessagingApp', source_field='app_id', db_constraint=True, to_field='id', related_name='contacts', on_delete=OnDelete.CASCADE)),
                ('external_id', fields.CharField(max_length=255)),
                ('name', fields.CharField(null=True, max_length=255)),
                ('avatar_url', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'contact', 'app': 'models', 'unique_together': (('app', 'external_id'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Conversation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='conversations', on_delete=OnDelete.CASCADE)),
                ('app', fields.ForeignKeyField('models.MessagingApp', source_field='app_id', db_constraint=True, to_field='id', related_name='conversations', on_delete=OnDelete.CASCADE)),
                ('contact', fields.ForeignKeyField('models.Contact', source_field='contact_id', db_constraint=True, to_field='id', related_name='conversations', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(default=ConversationStatus.OPEN, description='OPEN: OPEN\nCLOSED: CLOSED', enum_type=ConversationStatus, max_length=10)),
                ('assignee', fields.ForeignKeyField('models.User', source_field='assignee_id', null=True, db_constraint=True, to_field='id', related_name='assigned_conversations', on_delete=OnDelete.SET_NULL)),
                ('version', fields.IntField(default=0)),
                ('last_message_id', fields.IntField(null=True)),
                ('last_message_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_message_text', fields.TextField(null=True, unique=False)),
                ('last_message_direction', fields.CharEnumField(null=True, description='INBOUND: INBOUND\nOUTBOUND: OUTBOUND', enum_type=Direction, max_length=10)),
                ('last_inbound_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'conversation', 'app': 'models', 'unique_together': (('app', 'contact'),), 'pk_attr': 'id', 'table_description': 'One row per (app, contact), ever: deleting hides it and erases its messages (R-DELETE).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Message',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('app', fields.ForeignKeyField('models.MessagingApp', source_field='app_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('conversation', fields.ForeignKeyField('models.Conversation', source_field='conversation_id', null=True, db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('direction', fields.CharEnumField(description='INBOUND: INBOUND\nOUTBOUND: OUTBOUND', enum_type=Direction, max_length=10)),
                ('text', fields.TextField(null=True, unique=False)),
                ('attachments', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('sender_name', fields.CharField(null=True, max_length=255)),
                ('sent_by', fields.ForeignKeyField('models.User', source_field='sent_by_id', null=True, db_constraint=True, to_field='id', related_name='sent_messages', on_delete=OnDelete.SET_NULL)),
                ('status', fields.CharEnumField(description='RECEIVED: RECEIVED\nQUEUED: QUEUED\nSENT: SENT\nDELIVERED: DELIVERED\nREAD: READ\nFAILED: FAILED', enum_type=DeliveryStatus, max_length=10)),
                ('error_code', fields.CharField(null=True, max_length=64)),
                ('error_message', fields.TextField(null=True, unique=False)),
                ('provider_message_id', fields.CharField(null=True, max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'message', 'app': 'models', 'unique_together': (('app', 'provider_message_id'),), 'indexes': [Index(fields=['conversation_id', 'id'])], 'pk_attr': 'id', 'table_description': 'A message. `conversation` is null once its conversation was deleted: the row stays as a'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('app_id', fields.IntField()),
                ('kind', fields.CharEnumField(description='NEW_MESSAGE_ASSIGNED_TO_ME: NEW_MESSAGE_ASSIGNED_TO_ME\nNEW_MESSAGE_ASSIGNED_TO_OTHERS: NEW_MESSAGE_ASSIGNED_TO_OTHERS\nNEW_MESSAGE_UNASSIGNED: NEW_MESSAGE_UNASSIGNED\nCONVERSATION_ASSIGNED_TO_ME: CONVERSATION_ASSIGNED_TO_ME', enum_type=NotificationKind, max_length=40)),
                ('conversation', fields.ForeignKeyField('models.Conversation', source_field='conversation_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('message', fields.ForeignKeyField('models.Message', source_field='message_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.SET_NULL)),
                ('actor', fields.ForeignKeyField('models.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='caused_notifications', on_delete=OnDelete.SET_NULL)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notification', 'app': 'models', 'indexes': [Index(fields=['user_id', 'id']), Index(fields=['user_id', 'read_at'])], 'pk_attr': 'id', 'table_description': 'A desktop notification: written in the transaction of the change that causes it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='NotificationSetting',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='notification_settings', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='NEW_MESSAGE_ASSIGNED_TO_ME: NEW_MESSAGE_ASSIGNED_TO_ME\nNEW_MESSAGE_ASSIGNED_TO_OTHERS: NEW_MESSAGE_ASSIGNED_TO_OTHERS\nNEW_MESSAGE_UNASSIGNED: NEW_MESSAGE_UNASSIGNED\nCONVERSATION_ASSIGNED_TO_ME: CONVERSATION_ASSIGNED_TO_ME', enum_type=NotificationKind, max_length=40)),
                ('desktop', fields.BooleanField()),
                ('email', fields.BooleanField()),
            ],
            options={'table': 'notification_setting', 'app': 'models', 'unique_together': (('user', 'kind'),), 'pk_attr': 'id', 'table_description': "A user's choice for one kind. No row: the R-NOTIFY default."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxEmail',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='outbox_emails', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='outbox_emails', on_delete=OnDelete.CASCADE)),
                ('conversation', fields.ForeignKeyField('models.Conversation', source_field='conversation_id', db_constraint=True, to_field='id', related_name='outbox_emails', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(default=EmailStatus.PENDING, description='PENDING: PENDING\nSENDING: SENDING\nSENT: SENT\nFAILED: FAILED\nCANCELLED: CANCELLED', enum_type=EmailStatus, max_length=10)),
                ('due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('attempted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('claim_token', fields.CharField(null=True, max_length=32)),
                ('claimed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbox_email', 'app': 'models', 'indexes': [Index(fields=['status', 'due_at']), Index(fields=['user_id', 'conversation_id', 'id'])], 'pk_attr': 'id', 'table_description': 'One email to one user about one conversation: the durable outbox.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EmailItem',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.ForeignKeyField('models.OutboxEmail', source_field='email_id', db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='NEW_MESSAGE_ASSIGNED_TO_ME: NEW_MESSAGE_ASSIGNED_TO_ME\nNEW_MESSAGE_ASSIGNED_TO_OTHERS: NEW_MESSAGE_ASSIGNED_TO_OTHERS\nNEW_MESSAGE_UNASSIGNED: NEW_MESSAGE_UNASSIGNED\nCONVERSATION_ASSIGNED_TO_ME: CONVERSATION_ASSIGNED_TO_ME', enum_type=NotificationKind, max_length=40)),
                ('message', fields.ForeignKeyField('models.Message', source_field='message_id', null=True, db_constraint=True, to_field='id', related_name='email_items', on_delete=OnDelete.SET_NULL)),
                ('actor', fields.ForeignKeyField('models.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='email_items', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'email_item', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One thing an email tells: a message that arrived, or an assignment.'},
            bases=['Model'],
        ),
    ]
