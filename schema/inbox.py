from __future__ import annotations

import strawberry
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

import models
from resolvers import assignment, lifecycle, sections
from resolvers.access import visible_conversation
from resolvers.errors import NotFound
from resolvers.ids import to_api_id
from resolvers.nodes import find_node
from schema.context import viewer_of
from schema.crm import Deal, Lead, Note, Person
from schema.notifications import Notification
from schema.types import (
    Account,
    Contact,
    Conversation,
    ConversationConnection,
    ConversationEdge,
    Message,
    MessagingApp,
    Node,
    PageInfo,
    Section,
    SectionCounts,
    User,
)

NODE_TYPES: dict[type, type] = {
    models.User: User,
    models.Account: Account,
    models.MessagingApp: MessagingApp,
    models.Conversation: Conversation,
    models.Contact: Contact,
    models.Message: Message,
    models.Notification: Notification,
    models.Person: Person,
    models.Lead: Lead,
    models.Deal: Deal,
    models.Note: Note,
}


def as_node(row: object) -> Node | None:
    node_type = NODE_TYPES.get(type(row))
    return node_type.of(row) if node_type else None  # type: ignore[attr-defined]


def _selects(selections: list, name: str) -> bool:
    """Whether `name` is asked for, directly or through fragments (counting costs a query)."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == name:
                return True
        elif _selects(selection.selections, name):
            return True
    return False


@strawberry.type
class InboxQuery:
    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        row = await find_node(viewer_of(info), id)
        return as_node(row) if row is not None else None

    @strawberry.field
    async def conversations(
        self,
        info: Info,
        section: Section,
        app_id: strawberry.ID | None = None,
        first: int | None = 25,
        after: str | None = None,
    ) -> ConversationConnection:
        viewer = viewer_of(info)
        page = await sections.conversations_page(viewer, section, app_id=app_id, first=first, after=after)
        edges = [ConversationEdge(cursor=sections.conversation_cursor(row), node=Conversation.of(row)) for row in page.rows]
        wants_total = _selects(info.selected_fields[0].selections, "totalCount")
        total = await sections.section_total(viewer, section, app_id=app_id) if wants_total else 0
        return ConversationConnection(
            edges=edges,
            page_info=PageInfo.of(edges, has_next=page.has_next, has_previous=page.has_previous),
            total_count=total,
        )

    @strawberry.field
    async def conversation(self, info: Info, id: strawberry.ID) -> Conversation | None:
        try:
            return Conversation.of(await visible_conversation(viewer_of(info), id))
        except NotFound:
            return None

    @strawberry.field
    async def section_counts(self, info: Info, app_id: strawberry.ID | None = None) -> SectionCounts:
        counts = await sections.section_counts(viewer_of(info), app_id=app_id)
        return SectionCounts(
            unassigned=counts[sections.Section.UNASSIGNED],
            assigned_to_me=counts[sections.Section.ASSIGNED_TO_ME],
            assigned_to_others=counts[sections.Section.ASSIGNED_TO_OTHERS],
            closed=counts[sections.Section.CLOSED],
        )


@strawberry.type
class InboxMutation:
    @strawberry.mutation
    async def assign_conversation(self, info: Info, id: strawberry.ID, user_id: strawberry.ID) -> Conversation:
        return Conversation.of(await assignment.assign_conversation(viewer_of(info), id, user_id))

    @strawberry.mutation
    async def unassign_conversation(self, info: Info, id: strawberry.ID) -> Conversation:
        return Conversation.of(await assignment.unassign_conversation(viewer_of(info), id))

    @strawberry.mutation
    async def close_conversation(self, info: Info, id: strawberry.ID) -> Conversation:
        return Conversation.of(await lifecycle.close_conversation(viewer_of(info), id))

    @strawberry.mutation
    async def reopen_conversation(self, info: Info, id: strawberry.ID) -> Conversation:
        return Conversation.of(await lifecycle.reopen_conversation(viewer_of(info), id))

    @strawberry.mutation(description="Installer only. Returns the deleted conversation's id.")
    async def delete_conversation(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        return strawberry.ID(to_api_id("Conversation", await lifecycle.delete_conversation(viewer_of(info), id)))
