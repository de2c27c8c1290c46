from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.typed import nullable_text


class FileState(StrEnum):
    PENDING = "PENDING"  # an inbound attachment not copied from the provider yet
    STORED = "STORED"  # the bytes are in the file store under `key`
    UNAVAILABLE = "UNAVAILABLE"  # the provider's URL failed for good; the message stays


class StoredFile(Model):
    """One file of the file store (R-MEDIA): an upload, an outbound attachment, or an inbound
    attachment being (or once) copied from its provider. Plain ids, no foreign keys: a row outlives
    what it names until the sweep has removed its bytes from the store (`expires_at` passed).
    """

    id = fields.IntField(primary_key=True)
    account_id = fields.IntField()
    uploaded_by_id = fields.IntField(null=True)
    message_id = fields.IntField(null=True)
    conversation_id = fields.IntField(null=True, db_index=True)
    position = fields.IntField(null=True)  # its index in Message.attachments
    state = fields.CharEnumField(FileState, max_length=12)
    key = fields.CharField(max_length=255, null=True)  # in the file store
    source_url = nullable_text()  # an inbound attachment's provider URL
    filename = fields.CharField(max_length=255, null=True)
    content_type = fields.CharField(max_length=127, null=True)
    size = fields.BigIntField(null=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True, db_index=True)  # PENDING: when to copy next
    expires_at = fields.DatetimeField(null=True, db_index=True)  # passed: the sweep removes it
    created_at = fields.DatetimeField()

    class Meta:
        table = "stored_file"
        unique_together = (("message_id", "position"),)
