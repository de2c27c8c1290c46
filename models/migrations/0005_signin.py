"""Sign-in (R-SIGNIN): User.password_hash; ApiToken.kind, name, expires_at, last_used_at (the tokens
that exist become API tokens); the one-time codes of emailed links, their outbox, and the failure
counters used without Redis. Written by `tortoise makemigrations`."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.accounts import TokenKind
from models.notifications import EmailStatus
from models.signin import CodePurpose
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_inbox_event_unlinked')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RateCounter',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=100)),
                ('count', fields.IntField()),
                ('window_ends', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'rate_counter', 'app': 'models', 'pk_attr': 'key', 'table_description': 'Failures counted under one key until `window_ends`: the rate limit without Redis.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SignInCode',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sign_in_codes', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharEnumField(description='INVITE: INVITE\nRESET: RESET', enum_type=CodePurpose, max_length=10)),
                ('digest', fields.CharField(unique=True, max_length=64)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sign_in_code', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The code of an emailed link, stored as its SHA-256 digest, used once (`used_at`).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SignInEmail',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sign_in_emails', on_delete=OnDelete.CASCADE)),
                ('code', fields.ForeignKeyField('models.SignInCode', source_field='code_id', db_constraint=True, to_field='id', related_name='emails', on_delete=OnDelete.CASCADE)),
                ('sealed', fields.TextField(null=True, unique=False)),
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
            options={'table': 'sign_in_email', 'app': 'models', 'indexes': [Index(fields=['status', 'due_at'])], 'pk_attr': 'id', 'table_description': 'The email carrying a link: the durable outbox of resolvers/emails.py, for one code.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ApiToken',
            name='expires_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ApiToken',
            name='kind',
            field=fields.CharEnumField(default=TokenKind.API, description='SESSION: SESSION\nAPI: API', db_default='API', enum_type=TokenKind, max_length=10),
        ),
        ops.AddField(
            model_name='ApiToken',
            name='last_used_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ApiToken',
            name='name',
            field=fields.CharField(default='', db_default='', max_length=200),
        ),
        ops.AddField(
            model_name='User',
            name='password_hash',
            field=fields.CharField(null=True, max_length=200),
        ),
    ]
