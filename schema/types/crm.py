"""The CRM: persons, leads, deals and their notes."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

import models
from resolvers import notes
from resolvers.access import visible_conversation
from schema.context import loaders_of, viewer_of
from schema.types.common import Connection, Node, connection, describe_enum, wrap
from schema.types.inbox import Conversation

LinkKind = models.LinkKind
describe_enum(
    LinkKind,
    "LinkKind",
    "Which of a conversation's three CRM links (R-LINK).",
    {"PERSON": "The linked person.", "LEAD": "The linked lead.", "DEAL": "The linked deal."},
)


@strawberry.type(
    description="A note on a person, lead or deal: a linked conversation's history written by Switchboard (R-NOTE), "
    "or what a user made of it."
)
class Note(Node):
    row: strawberry.Private[models.Note]

    @classmethod
    def of(cls, row: models.Note) -> Note:
        return wrap(cls, "Note", row)

    @strawberry.field(
        description="The latest messages (up to 20) with sender, direction and time, the assignment and status, and a "
        "link to the conversation (R-NOTE); after an edit, the user's text."
    )
    def content(self) -> str:
        return self.row.content

    @strawberry.field(
        description="The conversation whose history this note records, if any; null for a viewer without access to its app."
    )
    async def conversation(self, info: Info) -> Conversation | None:
        if self.row.conversation_id is None:
            return None
        row = await loaders_of(info).conversation.load(self.row.conversation_id)
        shown = await visible_conversation(viewer_of(info), row)
        return Conversation.of(shown) if shown else None

    @strawberry.field(
        description="Start of the 24-hour period that this note covers: messages within it re-render this note, a later "
        "one starts a new note (R-NOTE)."
    )
    def window_starts_at(self) -> datetime | None:
        return self.row.window_starts_at

    @strawberry.field(description="When it was first written.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="When it was last re-rendered or edited.")
    def updated_at(self) -> datetime:
        return self.row.updated_at


@strawberry.type(description="Someone in the CRM; every user of the account sees every person (R-TENANT).")
class Person(Node):
    row: strawberry.Private[models.Person]
    name: str = strawberry.field(description="Their name.")
    phone: str | None = strawberry.field(description="Phone number as entered; null if none.")
    email: str | None = strawberry.field(description="Email address; null if none.")

    @classmethod
    def of(cls, row: models.Person) -> Person:
        return wrap(cls, "Person", row, ("name", "phone", "email"))

    @strawberry.field(description="Notes from linked conversations and users, newest first (R-NOTE).")
    async def notes(self, info: Info) -> list[Note]:
        return [Note.of(row) for row in await loaders_of(info).person_notes.load(self.row.id)]


async def _person(info: Info, person_id: int | None) -> Person | None:
    if person_id is None:
        return None
    row = await loaders_of(info).person.load(person_id)
    return Person.of(row) if row else None


@strawberry.type(description="A sales lead in the CRM, seen by every user of the account.")
class Lead(Node):
    row: strawberry.Private[models.Lead]
    title: str = strawberry.field(description="What it is about.")

    @classmethod
    def of(cls, row: models.Lead) -> Lead:
        return wrap(cls, "Lead", row, ("title",))

    @strawberry.field(description="The person it concerns; null if none.")
    async def person(self, info: Info) -> Person | None:
        return await _person(info, self.row.person_id)

    @strawberry.field(description="Notes from linked conversations and users, newest first (R-NOTE).")
    async def notes(self, info: Info) -> list[Note]:
        return [Note.of(row) for row in await loaders_of(info).lead_notes.load(self.row.id)]


@strawberry.type(description="A deal in the CRM, seen by every user of the account.")
class Deal(Node):
    row: strawberry.Private[models.Deal]
    title: str = strawberry.field(description="What it is about.")
    value: float | None = strawberry.field(description="The amount, in `currency`; null if not set.")
    currency: str | None = strawberry.field(description="ISO 4217 code of `value`, e.g. EUR; null if not set.")

    @classmethod
    def of(cls, row: models.Deal) -> Deal:
        return wrap(cls, "Deal", row, ("title", "value", "currency"))

    @strawberry.field(description="The person it concerns; null if none.")
    async def person(self, info: Info) -> Person | None:
        return await _person(info, self.row.person_id)

    @strawberry.field(description="Notes from linked conversations and users, newest first (R-NOTE).")
    async def notes(self, info: Info) -> list[Note]:
        return [Note.of(row) for row in await loaders_of(info).deal_notes.load(self.row.id)]


async def _live_link(
    info: Info, conversation: models.Conversation, kind: models.LinkKind
) -> models.ConversationLink | None:
    """The live link of this kind: one batched query serves a page of conversations and all three kinds."""
    links = await loaders_of(info).conversation_links.load(conversation.id)
    return next((link for link in links if link.kind == kind and notes.link_is_live(link, conversation)), None)


async def linked_person(info: Info, conversation: models.Conversation) -> Person | None:
    link = await _live_link(info, conversation, models.LinkKind.PERSON)
    return await _person(info, link.person_id) if link else None


async def linked_lead(info: Info, conversation: models.Conversation) -> Lead | None:
    link = await _live_link(info, conversation, models.LinkKind.LEAD)
    return Lead.of(await loaders_of(info).lead.load(link.lead_id)) if link else None


async def linked_deal(info: Info, conversation: models.Conversation) -> Deal | None:
    link = await _live_link(info, conversation, models.LinkKind.DEAL)
    return Deal.of(await loaders_of(info).deal.load(link.deal_id)) if link else None


@connection("A page of the account's persons, by name then id.", edges="This page's persons.")
class PersonConnection(Connection[Person]):
    pass


@connection("A page of the account's leads, by title then id.", edges="This page's leads.")
class LeadConnection(Connection[Lead]):
    pass


@connection("A page of the account's deals, by title then id.", edges="This page's deals.")
class DealConnection(Connection[Deal]):
    pass
