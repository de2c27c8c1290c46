"""User.status (ACTIVE | DEACTIVATED, R-ADMIN). Written by `tortoise makemigrations`; the column
has a database default so that the users who exist when it is added are ACTIVE."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.accounts import UserStatus


class Migration(migrations.Migration):
    dependencies = [("models", "0002_section_indexes")]

    operations = [
        ops.AddField(
            model_name="User",
            name="status",
            field=fields.CharEnumField(
                default=UserStatus.ACTIVE,
                description="ACTIVE: ACTIVE\nDEACTIVATED: DEACTIVATED",
                db_default="ACTIVE",
                enum_type=UserStatus,
                max_length=12,
            ),
        ),
    ]
