from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.accounts import Account, User
    from models.inbox import Conversation


class LinkKind(StrEnum):
    PERSON = "PERSON"
    LEAD = "LEAD"
    DEAL = "DEAL"


class Person(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="persons", on_delete=fields.CASCADE
    )
    account_id: int
    name = fields.CharField(max_length=200)
    phone = fields.CharField(max_length=64, null=True)
    email = fields.CharField(max_length=320, null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "person"
        indexes = (("account_id", "name", "id"),)


class Lead(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="leads", on_delete=fields.CASCADE
    )
    account_id: int
    title = fields.CharField(max_length=200)
    person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="leads", null=True, on_delete=fields.SET_NULL
    )
    person_id: int | None
    created_at = fields.DatetimeField()

    class Meta:
        table = "lead"
        indexes = (("account_id", "title", "id"),)


class Deal(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="deals", on_delete=fields.CASCADE
    )
    account_id: int
    title = fields.CharField(max_length=200)
    value = fields.FloatField(null=True)
    currency = fields.CharField(max_length=3, null=True)
    person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="deals", null=True, on_delete=fields.SET_NULL
    )
    person_id: int | None
    created_at = fields.DatetimeField()

    class Meta:
        table = "deal"
        indexes = (("account_id", "title", "id"),)


class Note(Model):
    """A note on exactly one of person, lead or deal (R-NOTE).

    `window_starts_at` opens the 24-hour period whose messages re-render this note; `messages_since`
    bounds the messages it shows (null: the history before the link too). `edited_at` is set when a
    user rewrote it: from then on it is theirs and the next message starts a new note.
    """

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="notes", on_delete=fields.CASCADE
    )
    account_id: int
    person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="notes", null=True, on_delete=fields.CASCADE
    )
    person_id: int | None
    lead: fields.ForeignKeyNullableRelation[Lead] = fields.ForeignKeyField(
        "models.Lead", related_name="notes", null=True, on_delete=fields.CASCADE
    )
    lead_id: int | None
    deal: fields.ForeignKeyNullableRelation[Deal] = fields.ForeignKeyField(
        "models.Deal", related_name="notes", null=True, on_delete=fields.CASCADE
    )
    deal_id: int | None
    conversation: fields.ForeignKeyNullableRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="notes", null=True, on_delete=fields.SET_NULL
    )
    conversation_id: int | None
    content = fields.TextField()
    window_starts_at = fields.DatetimeField(null=True)
    messages_since = fields.DatetimeField(null=True)
    edited_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "note"
        indexes = (("person_id", "id"), ("lead_id", "id"), ("deal_id", "id"))


class ConversationLink(Model):
    """A conversation's link to one person, lead or deal: one per kind (R-LINK).

    `note` is the note that the next message re-renders while its window lasts; null (never written,
    or deleted by a user) means the next message starts a new one.
    """

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="conversation_links", on_delete=fields.CASCADE
    )
    account_id: int
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="links", on_delete=fields.CASCADE
    )
    conversation_id: int
    kind = fields.CharEnumField(LinkKind, max_length=10)
    person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="links", null=True, on_delete=fields.CASCADE
    )
    person_id: int | None
    lead: fields.ForeignKeyNullableRelation[Lead] = fields.ForeignKeyField(
        "models.Lead", related_name="links", null=True, on_delete=fields.CASCADE
    )
    lead_id: int | None
    deal: fields.ForeignKeyNullableRelation[Deal] = fields.ForeignKeyField(
        "models.Deal", related_name="links", null=True, on_delete=fields.CASCADE
    )
    deal_id: int | None
    note: fields.ForeignKeyNullableRelation[Note] = fields.ForeignKeyField(
        "models.Note", related_name="links", null=True, on_delete=fields.SET_NULL
    )
    note_id: int | None
    linked_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="made_links", null=True, on_delete=fields.SET_NULL
    )
    linked_by_id: int | None
    linked_at = fields.DatetimeField()

    class Meta:
        table = "conversation_link"
        unique_together = (("conversation", "kind"),)
