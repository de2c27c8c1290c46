from __future__ import annotations

from typing import Annotated

import strawberry
from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from strawberry.types import Info

import models
from resolvers import assignment, lifecycle, search, sections
from resolvers.access import require_conversation
from resolvers.errors import NotFound
from resolvers.ids import to_api_id
from resolvers.nodes import find_node
from schema.context import viewer_of
from schema.strawberry_internals import raw_info
from schema.types import (
    Account,
    After,
    ApiToken,
    CannedReply,
    Contact,
    Conversation,
    ConversationConnection,
    ConversationId,
    ConversationSearchConnection,
    Deal,
    First,
    Label,
    Lead,
    Message,
    MessageTemplate,
    MessagingApp,
    Node,
    Note,
    Notification,
    Person,
    Section,
    SectionCounts,
    User,
)

NODE_TYPES: dict[type, type] = {
    models.User: User,
    models.ApiToken: ApiToken,
    models.Account: Account,
    models.MessagingApp: MessagingApp,
    models.Conversation: Conversation,
    models.Contact: Contact,
    models.Message: Message,
    models.MessageTemplate: MessageTemplate,
    models.Notification: Notification,
    models.Person: Person,
    models.Lead: Lead,
    models.Deal: Deal,
    models.Note: Note,
    models.Label: Label,
    models.CannedReply: CannedReply,
}


def as_node(row: object) -> Node | None:
    node_type = NODE_TYPES.get(type(row))
    return node_type.of(row) if node_type else None  # type: ignore[attr-defined]


def _selects(info: Info, name: str) -> bool:
    """Whether the field's selection asks for `name`, directly or through fragments (counting costs a
    query). Read from the document's nodes: `info.selected_fields` converts the whole selection on
    every request."""
    raw = raw_info(info)
    return _in_selection(raw.field_nodes[0].selection_set, raw.fragments, name)


def _in_selection(
    selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode], name: str
) -> bool:
    for selection in selection_set.selections if selection_set is not None else ():
        if isinstance(selection, FieldNode):
            if selection.name.value == name:
                return True
        elif isinstance(selection, InlineFragmentNode):
            if _in_selection(selection.selection_set, fragments, name):
                return True
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None and _in_selection(fragment.selection_set, fragments, name):
                return True
    return False


@strawberry.type
class InboxQuery:
    @strawberry.field(
        description="Any object by its id; null when there is none or the viewer may not see it (another account's, "
        "an app not shared with them)."
    )
    async def node(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Any object's id.")]
    ) -> Node | None:
        row = await find_node(viewer_of(info), id)
        return as_node(row) if row is not None else None

    @strawberry.field(
        description="One section of the viewer's inbox (R-SECTION): newest `lastMessageAt` first, ties by id."
    )
    async def conversations(
        self,
        info: Info,
        section: Annotated[Section, strawberry.argument(description="Which section, as the viewer sees it.")],
        app_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only this app's conversations; NOT_FOUND if it is not shared with the viewer."
            ),
        ] = None,
        label_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only the conversations carrying this label, in the section's order (R-LABEL); "
                "NOT_FOUND if it is not a label of the account."
            ),
        ] = None,
        first: First = 25,
        after: After = None,
    ) -> ConversationConnection:
        viewer = viewer_of(info)
        page = await sections.conversations_page(
            viewer, section, app_id=app_id, label_id=label_id, first=first, after=after
        )
        wants_total = _selects(info, "totalCount")
        total = await sections.section_total(viewer, section, app_id=app_id, label_id=label_id) if wants_total else 0
        return ConversationConnection.of(page, sections.conversation_cursor, Conversation.of, total_count=total)

    @strawberry.field(
        description="Full-text search over message text, contact name and phone, in the conversations the viewer "
        "can see; best match first."
    )
    async def search_conversations(
        self,
        info: Info,
        query: Annotated[
            str,
            strawberry.argument(
                description="Words to find (each a word's start in a message, or in the contact's name) or a phone "
                "fragment (3 digits or more). VALIDATION_FAILED if it holds no letter or digit, or is over 200 "
                "characters or 8 words (R-SEARCH)."
            ),
        ],
        first: First = 25,
        after: After = None,
    ) -> ConversationSearchConnection:
        page = await search.search_conversations(viewer_of(info), query, first=first, after=after)
        return ConversationSearchConnection.of(page)

    @strawberry.field(
        description="One conversation; null when there is none, it was deleted, or its app is not shared with the viewer."
    )
    async def conversation(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The conversation's id.")]
    ) -> Conversation | None:
        try:
            return Conversation.of(await require_conversation(viewer_of(info), id))
        except NotFound:
            return None

    @strawberry.field(description="How many conversations each section holds for the viewer (R-SECTION).")
    async def section_counts(
        self,
        info: Info,
        app_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Count only this app's; NOT_FOUND if it is not shared with the viewer."),
        ] = None,
    ) -> SectionCounts:
        counts = await sections.section_counts(viewer_of(info), app_id=app_id)
        return SectionCounts(
            unassigned=counts[sections.Section.UNASSIGNED],
            assigned_to_me=counts[sections.Section.ASSIGNED_TO_ME],
            assigned_to_others=counts[sections.Section.ASSIGNED_TO_OTHERS],
            closed=counts[sections.Section.CLOSED],
        )


@strawberry.type
class InboxMutation:
    @strawberry.mutation(
        description="R-ASSIGN: gives the conversation to a user, or to another one; anyone with access to its app may. "
        "ASSIGNEE_UNAVAILABLE unless the user is available (R-AVAIL), ASSIGNEE_NO_ACCESS unless they have access to the "
        "app, CONFLICT if someone changed the conversation at the same moment. The assignee is notified unless they "
        "assigned themselves."
    )
    async def assign_conversation(
        self,
        info: Info,
        id: ConversationId,
        user_id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="Who gets it, the viewer included; NOT_FOUND if not a user of the account."
            ),
        ],
    ) -> Conversation:
        return Conversation.of(await assignment.assign_conversation(viewer_of(info), id, user_id))

    @strawberry.mutation(
        description="R-ASSIGN: takes the assignee away (an open conversation goes to UNASSIGNED). CONFLICT if someone "
        "changed it at the same moment."
    )
    async def unassign_conversation(self, info: Info, id: ConversationId) -> Conversation:
        return Conversation.of(await assignment.unassign_conversation(viewer_of(info), id))

    @strawberry.mutation(
        description="R-CLOSE: closes it, keeping the assignee; anyone with access may. CONFLICT if someone changed it at "
        "the same moment."
    )
    async def close_conversation(self, info: Info, id: ConversationId) -> Conversation:
        return Conversation.of(await lifecycle.close_conversation(viewer_of(info), id))

    @strawberry.mutation(
        description="R-CLOSE: opens it again, in the section its assignment gives. CONFLICT if someone changed it at the "
        "same moment."
    )
    async def reopen_conversation(self, info: Info, id: ConversationId) -> Conversation:
        return Conversation.of(await lifecycle.reopen_conversation(viewer_of(info), id))

    @strawberry.mutation(
        description="Installer only. Returns the deleted conversation's id. R-DELETE: erases its history from the inbox "
        "for good; FORBIDDEN for everyone but the user who installed the app, admins too. A later message from the "
        "contact brings it back open and unassigned, with only the new messages."
    )
    async def delete_conversation(self, info: Info, id: ConversationId) -> strawberry.ID:
        return strawberry.ID(to_api_id("Conversation", await lifecycle.delete_conversation(viewer_of(info), id)))
