from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.typed import nullable_text

if TYPE_CHECKING:
    from models.inbox import Message


class OutboundSend(Model):
    """A reply still owed to its provider: written with the QUEUED message, removed once the
    provider accepted or refused it. A row whose `next_attempt_at` has passed was never settled
    (crash, provider down) and is claimed again by the retry loop; `attempts` bounds the retries.
    """

    id = fields.IntField(primary_key=True)
    message: fields.OneToOneRelation[Message] = fields.OneToOneField(
        "models.Message", related_name="outbound_send", on_delete=fields.CASCADE
    )
    message_id: int
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    last_error = nullable_text()

    class Meta:
        table = "outbound_send"
