"""The CRM: persons, leads, deals and their notes; linking conversations to them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

import models
from resolvers import crm, linking, notes
from resolvers.access import visible_conversation
from resolvers.ids import to_api_id
from schema.context import loaders_of, viewer_of
from schema.types import After, Conversation, ConversationId, First, Node, PageInfo, described_enum

LinkKind = described_enum(
    models.LinkKind,
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
        return cls(id=strawberry.ID(to_api_id("Note", row.id)), row=row)

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

    @classmethod
    def of(cls, row: models.Person) -> Person:
        return cls(id=strawberry.ID(to_api_id("Person", row.id)), row=row)

    @strawberry.field(description="Their name.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="Phone number as entered; null if none.")
    def phone(self) -> str | None:
        return self.row.phone

    @strawberry.field(description="Email address; null if none.")
    def email(self) -> str | None:
        return self.row.email

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

    @classmethod
    def of(cls, row: models.Lead) -> Lead:
        return cls(id=strawberry.ID(to_api_id("Lead", row.id)), row=row)

    @strawberry.field(description="What it is about.")
    def title(self) -> str:
        return self.row.title

    @strawberry.field(description="The person it concerns; null if none.")
    async def person(self, info: Info) -> Person | None:
        return await _person(info, self.row.person_id)

    @strawberry.field(description="Notes from linked conversations and users, newest first (R-NOTE).")
    async def notes(self, info: Info) -> list[Note]:
        return [Note.of(row) for row in await loaders_of(info).lead_notes.load(self.row.id)]


@strawberry.type(description="A deal in the CRM, seen by every user of the account.")
class Deal(Node):
    row: strawberry.Private[models.Deal]

    @classmethod
    def of(cls, row: models.Deal) -> Deal:
        return cls(id=strawberry.ID(to_api_id("Deal", row.id)), row=row)

    @strawberry.field(description="What it is about.")
    def title(self) -> str:
        return self.row.title

    @strawberry.field(description="The amount, in `currency`; null if not set.")
    def value(self) -> float | None:
        return self.row.value

    @strawberry.field(description="ISO 4217 code of `value`, e.g. EUR; null if not set.")
    def currency(self) -> str | None:
        return self.row.currency

    @strawberry.field(description="The person it concerns; null if none.")
    async def person(self, info: Info) -> Person | None:
        return await _person(info, self.row.person_id)

    @strawberry.field(description="Notes from linked conversations and users, newest first (R-NOTE).")
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


@strawberry.type(description="A person and its place in the list.")
class PersonEdge:
    cursor: str = strawberry.field(description="Pass it as `after` to continue after this person.")
    node: Person = strawberry.field(description="The person.")


@strawberry.type(description="A page of the account's persons, by name then id.")
class PersonConnection:
    edges: list[PersonEdge] = strawberry.field(description="This page's persons.")
    page_info: PageInfo = strawberry.field(description="Cursors, and whether more follow.")


@strawberry.type(description="A lead and its place in the list.")
class LeadEdge:
    cursor: str = strawberry.field(description="Pass it as `after` to continue after this lead.")
    node: Lead = strawberry.field(description="The lead.")


@strawberry.type(description="A page of the account's leads, by title then id.")
class LeadConnection:
    edges: list[LeadEdge] = strawberry.field(description="This page's leads.")
    page_info: PageInfo = strawberry.field(description="Cursors, and whether more follow.")


@strawberry.type(description="A deal and its place in the list.")
class DealEdge:
    cursor: str = strawberry.field(description="Pass it as `after` to continue after this deal.")
    node: Deal = strawberry.field(description="The deal.")


@strawberry.type(description="A page of the account's deals, by title then id.")
class DealConnection:
    edges: list[DealEdge] = strawberry.field(description="This page's deals.")
    page_info: PageInfo = strawberry.field(description="Cursors, and whether more follow.")


def _page_info(page: crm.EntityPage, cursors: list[str]) -> PageInfo:
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


@strawberry.input(description="A person to create.")
class NewPersonInput:
    name: str | None = strawberry.field(
        default=None, description="Defaults to the contact's name (when linking); 1 to 200 characters."
    )
    phone: str | None = strawberry.field(
        default=None, description="When linking a WhatsApp conversation, defaults to the contact's number."
    )
    email: str | None = strawberry.field(default=None, description="VALIDATION_FAILED if it is not an email address.")

    def parsed(self) -> crm.NewPerson:
        return crm.NewPerson(name=self.name, phone=self.phone, email=self.email)


@strawberry.input(description="A lead to create.")
class NewLeadInput:
    title: str = strawberry.field(description="What it is about, 1 to 200 characters.")
    person_id: strawberry.ID | None = strawberry.field(
        default=None, description="The person it concerns; NOT_FOUND if not in the account."
    )

    def parsed(self) -> crm.NewLead:
        return crm.NewLead(title=self.title, person_id=self.person_id)


@strawberry.input(description="A deal to create.")
class NewDealInput:
    title: str = strawberry.field(description="What it is about, 1 to 200 characters.")
    value: float | None = strawberry.field(default=None, description="The amount; a finite number.")
    currency: str | None = strawberry.field(
        default=None, description="Three-letter ISO 4217 code (VALIDATION_FAILED otherwise), stored upper-case."
    )
    person_id: strawberry.ID | None = strawberry.field(
        default=None, description="The person it concerns; NOT_FOUND if not in the account."
    )

    def parsed(self) -> crm.NewDeal:
        return crm.NewDeal(title=self.title, value=self.value, currency=self.currency, person_id=self.person_id)


@strawberry.input(description="Exactly one field must be set (VALIDATION_FAILED otherwise).")
class LinkTarget:
    person_id: strawberry.ID | None = strawberry.field(default=None, description="An existing person of the account.")
    lead_id: strawberry.ID | None = strawberry.field(default=None, description="An existing lead of the account.")
    deal_id: strawberry.ID | None = strawberry.field(default=None, description="An existing deal of the account.")
    new_person: NewPersonInput | None = strawberry.field(
        default=None, description="A person created on the spot, with the contact's name (and WhatsApp number) by default."
    )
    new_lead: NewLeadInput | None = strawberry.field(default=None, description="A lead created on the spot.")
    new_deal: NewDealInput | None = strawberry.field(default=None, description="A deal created on the spot.")

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
    @strawberry.field(description="The account's persons, by name then id.")
    async def persons(
        self,
        info: Info,
        search: Annotated[
            str | None,
            strawberry.argument(
                description="Only those whose name, email or phone contains this, ignoring case; at most 200 characters."
            ),
        ] = None,
        first: First = 25,
        after: After = None,
    ) -> PersonConnection:
        page = await crm.entity_page(models.Person, viewer_of(info), search=search, first=first, after=after)
        edges = [PersonEdge(cursor=crm.entity_cursor(row), node=Person.of(row)) for row in page.rows]
        return PersonConnection(edges=edges, page_info=_page_info(page, [edge.cursor for edge in edges]))

    @strawberry.field(description="The account's leads, by title then id.")
    async def leads(
        self,
        info: Info,
        search: Annotated[
            str | None,
            strawberry.argument(
                description="Only those whose title contains this, ignoring case; at most 200 characters."
            ),
        ] = None,
        first: First = 25,
        after: After = None,
    ) -> LeadConnection:
        page = await crm.entity_page(models.Lead, viewer_of(info), search=search, first=first, after=after)
        edges = [LeadEdge(cursor=crm.entity_cursor(row), node=Lead.of(row)) for row in page.rows]
        return LeadConnection(edges=edges, page_info=_page_info(page, [edge.cursor for edge in edges]))

    @strawberry.field(description="The account's deals, by title then id.")
    async def deals(
        self,
        info: Info,
        search: Annotated[
            str | None,
            strawberry.argument(
                description="Only those whose title contains this, ignoring case; at most 200 characters."
            ),
        ] = None,
        first: First = 25,
        after: After = None,
    ) -> DealConnection:
        page = await crm.entity_page(models.Deal, viewer_of(info), search=search, first=first, after=after)
        edges = [DealEdge(cursor=crm.entity_cursor(row), node=Deal.of(row)) for row in page.rows]
        return DealConnection(edges=edges, page_info=_page_info(page, [edge.cursor for edge in edges]))


@strawberry.type
class CrmMutation:
    @strawberry.mutation(
        description="Adds a person to the CRM. VALIDATION_FAILED (extensions.field) for a missing or too long name, or a "
        "bad email."
    )
    async def create_person(
        self, info: Info, input: Annotated[NewPersonInput, strawberry.argument(description="The person.")]
    ) -> Person:
        return Person.of(await crm.create_person(viewer_of(info), input.parsed()))

    @strawberry.mutation(
        description="Adds a lead to the CRM. VALIDATION_FAILED for a missing or too long title; NOT_FOUND for an unknown "
        "personId."
    )
    async def create_lead(
        self, info: Info, input: Annotated[NewLeadInput, strawberry.argument(description="The lead.")]
    ) -> Lead:
        return Lead.of(await crm.create_lead(viewer_of(info), input.parsed()))

    @strawberry.mutation(
        description="Adds a deal to the CRM. VALIDATION_FAILED for a missing title, a value that is not finite or a bad "
        "currency; NOT_FOUND for an unknown personId."
    )
    async def create_deal(
        self, info: Info, input: Annotated[NewDealInput, strawberry.argument(description="The deal.")]
    ) -> Deal:
        return Deal.of(await crm.create_deal(viewer_of(info), input.parsed()))

    @strawberry.mutation(
        description="R-LINK: links the conversation to a person, lead or deal (replacing that kind's link) and writes a "
        "note with its latest messages there (R-NOTE); emits CONVERSATION_LINKED. VALIDATION_FAILED unless exactly one "
        "target field is set; NOT_FOUND for an entity of another account."
    )
    async def link_conversation(
        self,
        info: Info,
        id: ConversationId,
        target: Annotated[LinkTarget, strawberry.argument(description="An existing entity, or a new one to create.")],
    ) -> Conversation:
        return Conversation.of(await linking.link_conversation(viewer_of(info), id, target.parsed()))

    @strawberry.mutation(
        description="R-LINK: ends one link: no new notes, the old ones stay. Emits CONVERSATION_UNLINKED (nothing when "
        "there was no such link)."
    )
    async def unlink_conversation(
        self,
        info: Info,
        id: ConversationId,
        kind: Annotated[LinkKind, strawberry.argument(description="Which link to end.")],
    ) -> Conversation:
        return Conversation.of(await linking.unlink_conversation(viewer_of(info), id, models.LinkKind(kind)))

    @strawberry.mutation(
        description="Replaces a note's text. The note is the user's from then on: never re-rendered, the next message "
        "starts a new note (R-NOTE). VALIDATION_FAILED for blank or too long content; NOT_FOUND for an unknown note."
    )
    async def update_note(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The note's id.")],
        content: Annotated[str, strawberry.argument(description="The new text, 1 to 64,000 characters.")],
    ) -> Note:
        return Note.of(await notes.update_note(viewer_of(info), id, content))

    @strawberry.mutation(
        description="Deletes a note and returns its id; the next message of a linked conversation starts a new one "
        "(R-NOTE). NOT_FOUND for an unknown note."
    )
    async def delete_note(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The note's id.")]
    ) -> strawberry.ID:
        return strawberry.ID(to_api_id("Note", await notes.delete_note(viewer_of(info), id)))

