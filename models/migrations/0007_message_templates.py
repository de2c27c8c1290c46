"""R-TEMPLATE (issue 14): WhatsApp templates synced per app, the template a message was sent from,
and each app's last sync and sync lease. Written by `tortoise makemigrations`."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.templates import TemplateCategory, TemplateStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_signin')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MessageTemplate',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='message_templates', on_delete=OnDelete.CASCADE)),
                ('app', fields.ForeignKeyField('models.MessagingApp', source_field='app_id', db_constraint=True, to_field='id', related_name='templates', on_delete=OnDelete.CASCADE)),
                ('external_id', fields.CharField(max_length=64)),
                ('name', fields.CharField(max_length=512)),
                ('language', fields.CharField(max_length=32)),
                ('category', fields.CharEnumField(null=True, description='MARKETING: MARKETING\nUTILITY: UTILITY\nAUTHENTICATION: AUTHENTICATION', enum_type=TemplateCategory, max_length=20)),
                ('status', fields.CharEnumField(description='APPROVED: APPROVED\nPENDING: PENDING\nREJECTED: REJECTED\nPAUSED: PAUSED\nDISABLED: DISABLED', enum_type=TemplateStatus, max_length=10)),
                ('body', fields.TextField(unique=False)),
                ('variables', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('synced_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'message_template', 'app': 'models', 'unique_together': (('app', 'external_id'),), 'pk_attr': 'id', 'table_description': "One template of one app, by the provider's id (a Twilio Content SID)."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Message',
            name='template',
            field=fields.ForeignKeyField('models.MessageTemplate', source_field='template_id', null=True, db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Message',
            name='template_variables',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='MessagingApp',
            name='templates_sync_lease',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='MessagingApp',
            name='templates_synced_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
