"""The CRM: persons, leads, deals and their notes; linking conversations to them."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

import models
from resolvers import crm, linking, notes
from resolvers.ids import to_api_id
from schema.context import loaders_of, viewer_of
from schema.types import Conversation, Node, PageInfo

LinkKind = strawberry.enum(models.LinkKind, name="LinkKind")


@strawberry.type
class Note(Node):
    row: strawberry.Private[models.Note]

    @classmethod
    def of(cls, row: models.Note) -> Note:
        return cls(id=strawberry.ID(to_api_id("Note", row.id)), row=row)

    @strawberry.field
    def content(self) -> str:
        return self.row.content

    @strawberry.field(description="The conversation whose history this note records, if any.")
    async def conversation(self, info: Info) -> Conversation | None:
        if self.row.conversation_id is None:
            return None
        row = await loaders_of(info).conversation.load(self.row.conversation_id)
        shown = await notes.shown_conversation(viewer_of(info), row)
        return Conversation.of(shown) if shown else None

    @strawberry.field(description="Start of the 24-hour period that this note covers.")
    def window_starts_at(self) -> datetime | None:
        return self.row.window_starts_at

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field
    def updated_at(self) -> datetime:
        return self.row.updated_at


@strawberry.type
class Person(Node):
    row: strawberry.Private[models.Person]

    @classmethod
    def of(cls, row: models.Person) -> Person:
        return cls(id=strawberry.ID(to_api_id("Person", row.id)), row=row)

    @strawberry.field
    def name(self) -> str:
        return self.row.name

    @strawberry.field
    def phone(self) -> str | None:
        return self.row.phone

    @strawberry.field
    def email(self) -> str | None:
        return self.row.email

    @strawberry.field(description="Newest first.")
    async def notes(self, info: Info) -> list[Note]:
        return [Note.of(row) for row in await loaders_of(info).person_notes.load(self.row.id)]


async def _person(info: Info, person_id: int | None) -> Person | None:
    if person_id is None:
        return None
    row = await loaders_of(info).person.load(person_id)
    return Person.of(row) if row else None


@strawberry.type
class Lead(Node):
    row: strawberry.Private[models.Lead]

    @classmethod
    def of(cls, row: models.Lead) -> Lead:
        return cls(id=strawberry.ID(to_api_id("Lead", row.id)), row=row)

    @strawberry.field
    def title(self) -> str:
        return self.row.title

    @strawberry.field
    async def person(self, info: Info) -> Person | None:
        return await _person(info, self.row.person_id)

    @strawberry.field(description="Newest first.")
    async def notes(self, info: Info) -> list[Note]:
        return [Note.of(row) for row in await loaders_of(info).lead_notes.load(self.row.id)]


@strawberry.type
class Deal(Node):
    row: strawberry.Private[models.Deal]

    @classmethod
    def of(cls, row: models.Deal) -> Deal:
        return cls(id=strawberry.ID(to_api_id("Deal", row.id)), row=row)

    @strawberry.field
    def title(self) -> str:
        return self.row.title

    @strawberry.field
    def value(self) -> float | None:
        return self.row.value

    @strawberry.field
    def currency(self) -> str | None:
        return self.row.currency

    @strawberry.field
    async def person(self, info: Info) -> Person | None:
        return await _person(info, self.row.person_id)

    @strawberry.field(description="Newest first.")
    async def notes(self, info: Info) -> list[Note]:
        return [Note.of(row) for row in await loaders_of(info).deal_notes.load(self.row.id)]


async def linked(info: Info, conversation: models.Conversation, kind: models.LinkKind) -> Person | Lead | Deal | None:
    """`Conversation.linkedPerson/Lead/Deal`: one batched query for a page's links, one per kind."""
    links = await loaders_of(info).conversation_links.load(conversation.id)
    link = next((link for link in links if link.kind == kind and notes.link_is_live(link, conversation)), None)
    if link is None:
        return None
    loaders = loaders_of(info)
    if kind == models.LinkKind.PERSON:
        return await _person(info, link.person_id)
    if kind == models.LinkKind.LEAD:
        return Lead.of(await loaders.lead.load(link.lead_id))
    return Deal.of(await loaders.deal.load(link.deal_id))


@strawberry.type
class PersonEdge:
    cursor: str
    node: Person


@strawberry.type
class PersonConnection:
    edges: list[PersonEdge]
    page_info: PageInfo


@strawberry.type
class LeadEdge:
    cursor: str
    node: Lead


@strawberry.type
class LeadConnection:
    edges: list[LeadEdge]
    page_info: PageInfo


@strawberry.type
class DealEdge:
    cursor: str
    node: Deal


@strawberry.type
class DealConnection:
    edges: list[DealEdge]
    page_info: PageInfo


def _page_info(page: crm.EntityPage, cursors: list[str]) -> PageInfo:
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


@strawberry.input
class NewPersonInput:
    name: str | None = strawberry.field(default=None, description="Defaults to the contact's name.")
    phone: str | None = None
    email: str | None = None

    def parsed(self) -> crm.NewPerson:
        return crm.NewPerson(name=self.name, phone=self.phone, email=self.email)


@strawberry.input
class NewLeadInput:
    title: str
    person_id: strawberry.ID | None = None

    def parsed(self) -> crm.NewLead:
        return crm.NewLead(title=self.title, person_id=self.person_id)


@strawberry.input
class NewDealInput:
    title: str
    value: float | None = None
    currency: str | None = None
    person_id: strawberry.ID | None = None

    def parsed(self) -> crm.NewDeal:
        return crm.NewDeal(title=self.title, value=self.value, currency=self.currency, person_id=self.person_id)


@strawberry.input(description="Exactly one field must be set.")
class LinkTarget:
    person_id: strawberry.ID | None = None
    lead_id: strawberry.ID | None = None
    deal_id: strawberry.ID | None = None
    new_person: NewPersonInput | None = None
    new_lead: NewLeadInput | None = None
    new_deal: NewDealInput | None = None

    def parsed(self) -> linking.LinkTarget:
        return linking.LinkTarget(
            person_id=self.person_id,
            lead_id=self.lead_id,
            deal_id=self.deal_id,
            new_person=self.new_person.parsed() if self.new_person else None,
            new_lead=self.new_lead.parsed() if self.new_lead else None,
            new_deal=self.new_deal.parsed() if self.new_deal else None,
        )


@strawberry.type
class CrmQuery:
    @strawberry.field
    async def persons(
        self, info: Info, search: str | None = None, first: int | None = 25, after: str | None = None
    ) -> PersonConnection:
        page = await crm.entity_page(models.Person, viewer_of(info), search=search, first=first, after=after)
        edges = [PersonEdge(cursor=crm.entity_cursor(row), node=Person.of(row)) for row in page.rows]
        return PersonConnection(edges=edges, page_info=_page_info(page, [edge.cursor for edge in edges]))

    @strawberry.field
    async def leads(
        self, info: Info, search: str | None = None, first: int | None = 25, after: str | None = None
    ) -> LeadConnection:
        page = await crm.entity_page(models.Lead, viewer_of(info), search=search, first=first, after=after)
        edges = [LeadEdge(cursor=crm.entity_cursor(row), node=Lead.of(row)) for row in page.rows]
        return LeadConnection(edges=edges, page_info=_page_info(page, [edge.cursor for edge in edges]))

    @strawberry.field
    async def deals(
        self, info: Info, search: str | None = None, first: int | None = 25, after: str | None = None
    ) -> DealConnection:
        page = await crm.entity_page(models.Deal, viewer_of(info), search=search, first=first, after=after)
        edges = [DealEdge(cursor=crm.entity_cursor(row), node=Deal.of(row)) for row in page.rows]
        return DealConnection(edges=edges, page_info=_page_info(page, [edge.cursor for edge in edges]))


@strawberry.type
class CrmMutation:
    @strawberry.mutation
    async def create_person(self, info: Info, input: NewPersonInput) -> Person:
        return Person.of(await crm.create_person(viewer_of(info), input.parsed()))

    @strawberry.mutation
    async def create_lead(self, info: Info, input: NewLeadInput) -> Lead:
        return Lead.of(await crm.create_lead(viewer_of(info), input.parsed()))

    @strawberry.mutation
    async def create_deal(self, info: Info, input: NewDealInput) -> Deal:
        return Deal.of(await crm.create_deal(viewer_of(info), input.parsed()))

    @strawberry.mutation
    async def link_conversation(self, info: Info, id: strawberry.ID, target: LinkTarget) -> Conversation:
        return Conversation.of(await linking.link_conversation(viewer_of(info), id, target.parsed()))

    @strawberry.mutation
    async def unlink_conversation(self, info: Info, id: strawberry.ID, kind: LinkKind) -> Conversation:
        return Conversation.of(await linking.unlink_conversation(viewer_of(info), id, models.LinkKind(kind)))

    @strawberry.mutation
    async def update_note(self, info: Info, id: strawberry.ID, content: str) -> Note:
        return Note.of(await notes.update_note(viewer_of(info), id, content))

    @strawberry.mutation
    async def delete_note(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        return strawberry.ID(to_api_id("Note", await notes.delete_note(viewer_of(info), id)))

