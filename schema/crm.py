"""The CRM: persons, leads, deals and their notes; linking conversations to them."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

import models
from resolvers import crm, linking, notes
from resolvers.ids import to_api_id
from schema.context import viewer_of
from schema.types import (
    After,
    Conversation,
    ConversationId,
    Deal,
    DealConnection,
    First,
    Lead,
    LeadConnection,
    LinkKind,
    Note,
    Person,
    PersonConnection,
)

TitleSearch = Annotated[
    str | None,
    strawberry.argument(description="Only those whose title contains this, ignoring case; at most 200 characters."),
]


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
        default=None,
        description="A person created on the spot, with the contact's name (and WhatsApp number) by default.",
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
        return PersonConnection.of(page, crm.entity_cursor, Person.of)

    @strawberry.field(description="The account's leads, by title then id.")
    async def leads(
        self, info: Info, search: TitleSearch = None, first: First = 25, after: After = None
    ) -> LeadConnection:
        page = await crm.entity_page(models.Lead, viewer_of(info), search=search, first=first, after=after)
        return LeadConnection.of(page, crm.entity_cursor, Lead.of)

    @strawberry.field(description="The account's deals, by title then id.")
    async def deals(
        self, info: Info, search: TitleSearch = None, first: First = 25, after: After = None
    ) -> DealConnection:
        page = await crm.entity_page(models.Deal, viewer_of(info), search=search, first=first, after=after)
        return DealConnection.of(page, crm.entity_cursor, Deal.of)


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
