"""The inbox: conversations, their messages and contacts, and the sections they sit in."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

import models
from resolvers.ids import to_api_id
from resolvers.messages import message_cursor, messages_page, shown_attachments
from resolvers.presence import presence_of
from resolvers.replies import can_reply, reply_window_ends_at
from resolvers.sections import Section as SectionValue
from resolvers.sections import section_of
from schema.context import loaders_of, viewer_of
from schema.loaders import Loading, related
from schema.types.apps import MessagingApp
from schema.types.common import After, Connection, First, Node, connection, describe_enum, wrap
from schema.types.presence import Presence
from schema.types.team import User

if TYPE_CHECKING:  # the CRM's types refer to Conversation: they are imported where first needed
    from schema.types.crm import Deal, Lead, Person
    from schema.types.templates import MessageTemplate

ConversationStatus = models.ConversationStatus
describe_enum(
    ConversationStatus,
    "ConversationStatus",
    "Whether a conversation is being worked on (R-CLOSE).",
    {
        "OPEN": "In UNASSIGNED, ASSIGNED_TO_ME or ASSIGNED_TO_OTHERS, as its assignee gives.",
        "CLOSED": "Done; keeps its assignee. reopenConversation or a new message from the contact opens it again "
        "(R-REOPEN).",
    },
)
Direction = models.Direction
describe_enum(
    Direction,
    "Direction",
    "Which way a message went.",
    {
        "INBOUND": "From the contact, through the provider.",
        "OUTBOUND": "To the contact: a user's reply, or a message sent from the provider's own tools.",
        "INTERNAL": "A comment by a user for the team; never sent to the contact, never in CRM notes, and it does "
        "not move the conversation (R-COMMENT).",
    },
)
DeliveryStatus = models.DeliveryStatus
describe_enum(
    DeliveryStatus,
    "DeliveryStatus",
    "Where a message is on its way (R-REPLY). Outbound messages only move forward: "
    "QUEUED < SENT < DELIVERED < READ; FAILED only from below DELIVERED.",
    {
        "RECEIVED": "An INBOUND message, or an INTERNAL comment, stored.",
        "QUEUED": "Stored, not yet accepted by the provider (retried if the provider could not be reached).",
        "SENT": "Accepted by the provider.",
        "DELIVERED": "Reached the contact's device.",
        "READ": "Read by the contact.",
        "FAILED": "Refused or undeliverable: see errorCode and errorMessage.",
    },
)
Section = SectionValue
describe_enum(
    Section,
    "Section",
    "Where a conversation sits for the viewer (R-SECTION). A deleted conversation is in none.",
    {
        "UNASSIGNED": "Open, with no assignee.",
        "ASSIGNED_TO_ME": "Open and assigned to the viewer.",
        "ASSIGNED_TO_OTHERS": "Open and assigned to someone else.",
        "CLOSED": "Closed, whoever the assignee.",
    },
)


@strawberry.type(description="An account's label, set on conversations to sort them (R-LABEL).")
class Label(Node):
    row: strawberry.Private[models.Label]
    name: str = strawberry.field(description="Unique in the account, whatever its case; 1 to 50 characters.")
    color: str = strawberry.field(description="#RRGGBB")

    @classmethod
    def of(cls, row: models.Label) -> Label:
        return wrap(cls, "Label", row, ("name", "color"))


@strawberry.type(description="The person writing in on one app, as the provider knows them.")
class Contact(Node):
    row: strawberry.Private[models.Contact]
    external_id: str = strawberry.field(
        description="The provider's id for the person: E.164 phone for WhatsApp, PSID for Messenger, `sender.id` for API apps."
    )
    name: str | None = strawberry.field(description="Their name as the provider gives it; null when it gives none.")
    avatar_url: str | None = strawberry.field(description="Their picture's URL, when the provider gives one.")

    @classmethod
    def of(cls, row: models.Contact) -> Contact:
        return wrap(cls, "Contact", row, ("external_id", "name", "avatar_url"))


@strawberry.type(description="A file carried by a message.")
class Attachment:
    url: str = strawberry.field(
        description="Served by Switchboard (the file is copied from the provider on arrival, R-MEDIA): fetch it "
        "with `Authorization: Bearer <token>`; 503 while the copy is pending, 404 if the provider lost it. "
        "Messages stored before R-MEDIA keep the provider's link."
    )
    content_type: str | None = strawberry.field(
        description="MIME type, e.g. image/jpeg; null when the channel did not say."
    )
    filename: str | None = strawberry.field(description="The file's name, when known.")
    size: int | None = strawberry.field(description="Bytes; null until an inbound file is copied.")


@strawberry.type(description="R-MEDIA: a file uploaded for a later sendMessage, removed after a day if unused.")
class UploadedFile:
    id: strawberry.ID = strawberry.field(description="Pass it to sendMessage(attachmentIds:).")
    filename: str = strawberry.field(description="The name it was uploaded with, without any folder.")
    content_type: str = strawberry.field(description="MIME type, as declared or read from the filename.")
    size: int = strawberry.field(description="Bytes.")

    @classmethod
    def of(cls, row: models.StoredFile) -> UploadedFile:
        return cls(
            id=strawberry.ID(to_api_id("UploadedFile", row.id)),
            filename=row.filename or "file",
            content_type=row.content_type or "application/octet-stream",
            size=row.size or 0,
        )


@strawberry.type(description="One message of a conversation, from the contact or to them.")
class Message(Node):
    row: strawberry.Private[models.Message]
    direction: Direction = strawberry.field(
        description="INBOUND from the contact, OUTBOUND to them, INTERNAL a comment for the team (R-COMMENT)."
    )
    text: str | None = strawberry.field(description="The text; null for a message of attachments only.")
    sender_name: str | None = strawberry.field(
        description="Contact name for INBOUND, user name for OUTBOUND and INTERNAL."
    )
    status: DeliveryStatus = strawberry.field(
        description="Where it is on its way (R-REPLY); INBOUND messages are RECEIVED."
    )
    error_code: str | None = strawberry.field(description="Provider error code when status is FAILED, e.g. 63016.")
    error_message: str | None = strawberry.field(
        description="What the provider's error code means, when status is FAILED."
    )
    created_at: datetime = strawberry.field(description="When it was stored: received from the provider, or sent.")

    @classmethod
    def of(cls, row: models.Message) -> Message:
        return wrap(
            cls,
            "Message",
            row,
            ("direction", "text", "sender_name", "status", "error_code", "error_message", "created_at"),
        )

    @strawberry.field(description="The conversation it belongs to.")
    async def conversation(self, info: Info) -> Conversation:
        return Conversation.of(await loaders_of(info).conversation.load(self.row.conversation_id))

    @strawberry.field(description="The files it carries, in order; empty when none.")
    def attachments(self) -> list[Attachment]:
        return [
            Attachment(url=a["url"], content_type=a.get("contentType"), filename=a.get("filename"), size=a.get("size"))
            for a in shown_attachments(self.row)
        ]

    @strawberry.field(description="The user who sent it; null for INBOUND and for messages sent outside Switchboard.")
    async def sent_by(self, info: Info) -> User | None:
        if self.row.sent_by_id is None:
            return None
        return User.of(await loaders_of(info).user.load(self.row.sent_by_id))

    @strawberry.field(description="Users mentioned in an INTERNAL comment (R-COMMENT); empty for other messages.")
    async def mentions(self, info: Info) -> list[User]:
        if self.row.direction != Direction.INTERNAL:
            return []
        return [User.of(user) for user in await loaders_of(info).mentions.load(self.row.id)]

    @strawberry.field(description="The template this message was sent from, if any (R-TEMPLATE).")
    async def template(
        self, info: Info
    ) -> Annotated[MessageTemplate, strawberry.lazy("schema.types.templates")] | None:
        from schema.types.templates import MessageTemplate

        if self.row.template_id is None:
            return None
        return MessageTemplate.of(await loaders_of(info).template.load(self.row.template_id))


@connection(
    "A page of a conversation's messages, oldest first.",
    edges="This page's messages, oldest first.",
    page_info="Cursors, and whether there is more either way.",
    edge="A message and its place in the thread.",
    cursor="Pass it as `after` or `before` to page from this message.",
)
class MessageConnection(Connection[Message]):
    pass


@strawberry.type(
    description="The thread between one contact and the team on one app: one live conversation per app and contact (R-NEW)."
)
class Conversation(Node):
    row: strawberry.Private[models.Conversation]
    status: ConversationStatus = strawberry.field(description="OPEN or CLOSED (R-CLOSE).")
    last_message_at: datetime | None = strawberry.field(
        description="When its newest message came or went; sections list newest first by it (R-SECTION)."
    )
    created_at: datetime = strawberry.field(description="When the contact's first message started it (R-NEW).")

    @classmethod
    def of(cls, row: models.Conversation) -> Conversation:
        return wrap(cls, "Conversation", row, ("status", "last_message_at", "created_at"))

    @strawberry.field(description="The messaging app it came in on.")
    async def app(self, info: Info) -> MessagingApp:
        return MessagingApp.of(await loaders_of(info).app.load(self.row.app_id))

    @strawberry.field(description="Who the team is talking to.")
    def contact(self, info: Info) -> Contact:
        return related(self.row, "contact", loaders_of(info).contact, Contact.of)  # type: ignore[return-value]

    @strawberry.field(description="Where the viewer sees it (R-SECTION).")
    def section(self, info: Info) -> Section:
        return section_of(viewer_of(info), self.row)

    @strawberry.field(description="The user working on it; null when unassigned. Closing keeps it (R-ASSIGN, R-CLOSE).")
    def assignee(self, info: Info) -> User | None:
        return related(self.row, "assignee", loaders_of(info).user, User.of)  # type: ignore[return-value]

    @strawberry.field(description="Its newest message, either way; never a comment (R-COMMENT). Null when it has none.")
    def last_message(self, info: Info) -> Message | None:
        if self.row.last_message_id is None:
            return None
        return Loading(loaders_of(info).message, self.row.last_message_id, Message.of)  # type: ignore[return-value]

    @strawberry.field(description="Oldest first; `last`/`before` page backwards from the newest.")
    async def messages(
        self,
        first: First = None,
        after: After = None,
        last: Annotated[
            int | None,
            strawberry.argument(description="The newest this many (before `before`), 1 to 100, instead of `first`."),
        ] = None,
        before: Annotated[
            str | None, strawberry.argument(description="A message's cursor: the page ends before it (with `last`).")
        ] = None,
    ) -> MessageConnection:
        page = await messages_page(self.row, first=first, after=after, last=last, before=before)
        return MessageConnection.of(page, message_cursor, Message.of)

    @strawberry.field(description="The person it is linked to; its history is written there as notes (R-LINK, R-NOTE).")
    async def linked_person(self, info: Info) -> Annotated[Person, strawberry.lazy("schema.types.crm")] | None:
        from schema.types import crm

        return await crm.linked_person(info, self.row)

    @strawberry.field(description="The lead it is linked to; its history is written there as notes (R-LINK, R-NOTE).")
    async def linked_lead(self, info: Info) -> Annotated[Lead, strawberry.lazy("schema.types.crm")] | None:
        from schema.types import crm

        return await crm.linked_lead(info, self.row)

    @strawberry.field(description="The deal it is linked to; its history is written there as notes (R-LINK, R-NOTE).")
    async def linked_deal(self, info: Info) -> Annotated[Deal, strawberry.lazy("schema.types.crm")] | None:
        from schema.types import crm

        return await crm.linked_deal(info, self.row)

    @strawberry.field(description="Who has this conversation open or is typing in it now (R-PRESENCE).")
    async def presence(self) -> list[Presence]:
        return [Presence.of(entry) for entry in await presence_of(self.row.id)]

    @strawberry.field(description="Its labels, by name (R-LABEL).")
    async def labels(self, info: Info) -> list[Label]:
        return [Label.of(row) for row in await loaders_of(info).conversation_labels.load(self.row.id)]

    @strawberry.field(
        description="Whether a free-form reply can be sent now (the provider's reply window is open, R-REPLY); "
        "always true on API apps."
    )
    async def can_reply(self, info: Info) -> bool:
        app = await loaders_of(info).app.load(self.row.app_id)
        return can_reply(app.provider, self.row)

    @strawberry.field(
        description="When the reply window closes (24 h after the contact's last message); null when the channel has none."
    )
    async def reply_window_ends_at(self, info: Info) -> datetime | None:
        app = await loaders_of(info).app.load(self.row.app_id)
        return reply_window_ends_at(app.provider, self.row)


@connection(
    "A page of one section, newest `lastMessageAt` first, ties by id (R-SECTION).",
    edges="This page's conversations, newest first.",
    edge="A conversation and its place in the section.",
)
class ConversationConnection(Connection[Conversation]):
    total_count: int = strawberry.field(
        description="How many conversations the whole section holds, not only this page."
    )


@strawberry.type(description="How many conversations each section holds for the viewer (R-SECTION).")
class SectionCounts:
    unassigned: int = strawberry.field(description="Open, with no assignee.")
    assigned_to_me: int = strawberry.field(description="Open and assigned to the viewer.")
    assigned_to_others: int = strawberry.field(description="Open and assigned to someone else.")
    closed: int = strawberry.field(description="Closed, whoever the assignee.")
