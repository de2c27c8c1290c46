"""Real time: the inbox events a subscriber receives."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

import models
from resolvers.access import event_conversation, live_message
from resolvers.ids import to_api_id
from resolvers.realtime import event_cursor
from schema.context import loaders_of
from schema.loaders import related
from schema.types.common import describe_enum
from schema.types.inbox import Conversation, Message
from schema.types.team import User

InboxEventType = models.InboxEventType
describe_enum(
    InboxEventType,
    "InboxEventType",
    "What changed.",
    {
        "CONVERSATION_CREATED": "A contact's first message started a conversation (R-NEW).",
        "MESSAGE_RECEIVED": "The contact wrote; the message is in `message`.",
        "MESSAGE_SENT": "A message went to the contact (stored QUEUED, R-REPLY); it is in `message`.",
        "MESSAGE_STATUS_CHANGED": "An outbound message's delivery status moved on (R-REPLY); it is in `message`.",
        "CONVERSATION_ASSIGNED": "Assigned or reassigned (R-ASSIGN).",
        "CONVERSATION_UNASSIGNED": "Its assignee was taken away (R-ASSIGN).",
        "CONVERSATION_CLOSED": "Closed (R-CLOSE).",
        "CONVERSATION_REOPENED": "Reopened by a user or by the contact writing again (R-CLOSE, R-REOPEN).",
        "CONVERSATION_DELETED": "Its history was erased (R-DELETE); `conversation` is null, use `conversationId`.",
        "CONVERSATION_LINKED": "Linked to a person, lead or deal, or that kind's link replaced (R-LINK): read linkedPerson, "
        "linkedLead, linkedDeal.",
        "CONVERSATION_UNLINKED": "One of its CRM links was ended (R-LINK); the notes already written stay.",
        "CONVERSATION_LABELED": "Its labels changed (R-LABEL): read `labels`.",
        "COMMENT_ADDED": "A user added an internal comment (R-COMMENT); it is in `message`.",
    },
)


@strawberry.type(
    name="InboxEvent",
    description="One change in a conversation the viewer can see; events arrive in order, each once.",
)
class InboxEvent:
    row: strawberry.Private[models.InboxEvent]

    @strawberry.field(description="Resume point: pass it back as `after` to receive every later event.")
    def cursor(self) -> str:
        return event_cursor(self.row.id)

    @strawberry.field(description="What changed.")
    def type(self) -> InboxEventType:
        return self.row.type

    @strawberry.field(description="Null only for CONVERSATION_DELETED (use conversationId).")
    async def conversation(self, info: Info) -> Conversation | None:
        row = event_conversation(self.row, await loaders_of(info).conversation.load(self.row.conversation_id))
        return Conversation.of(row) if row else None

    @strawberry.field(description="The conversation's id, always set (also for CONVERSATION_DELETED).")
    def conversation_id(self) -> strawberry.ID:
        return strawberry.ID(to_api_id("Conversation", self.row.conversation_id))

    @strawberry.field(
        description="The message concerned, for the MESSAGE_ types and COMMENT_ADDED (the comment); null for the others."
    )
    async def message(self, info: Info) -> Message | None:
        if self.row.message_id is None:
            return None
        row = live_message(await loaders_of(info).message.load(self.row.message_id))
        return Message.of(row) if row else None

    @strawberry.field(description="The user who caused the event, if a user did.")
    def actor(self, info: Info) -> User | None:
        return related(self.row, "actor", loaders_of(info).user, User.of)  # type: ignore[return-value]

    @strawberry.field(description="When the change happened.")
    def occurred_at(self) -> datetime:
        return self.row.occurred_at
