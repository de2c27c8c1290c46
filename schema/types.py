"""The GraphQL object types: thin wrappers over rows; every rule is asked of resolvers/."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import EnumMeta
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

import models
from resolvers.apps import shared_with, webhook_url
from resolvers.ids import to_api_id
from resolvers.messages import message_cursor, messages_page, shown_attachments
from resolvers.replies import can_reply, reply_window_ends_at
from resolvers.sections import Section as SectionValue
from resolvers.sections import section_of
from schema.context import loaders_of, viewer_of
from schema.loaders import related

E = TypeVar("E", bound=EnumMeta)


def described_enum(cls: E, name: str, description: str, values: dict[str, str]) -> E:
    """`strawberry.enum` over an enum of models/ or resolvers/, with a description per value:
    those layers know nothing of GraphQL, so `strawberry.enum_value` cannot sit there."""
    enum = strawberry.enum(cls, name=name, description=description)
    definition = enum.__strawberry_definition__  # type: ignore[attr-defined]
    unknown = set(values) - {value.name for value in definition.values}
    if unknown:
        raise ValueError(f"{name} has no values {sorted(unknown)}")
    for value in definition.values:
        value.description = values.get(value.name)
    return enum


Role = described_enum(
    models.Role,
    "Role",
    "What a user may do in the account (R-SETTINGS).",
    {
        "ADMIN": "Account settings access: installs, shares and uninstalls messaging apps and creates users (R-SETTINGS).",
        "MEMBER": "Works the inbox of the apps shared with them; changes no messaging settings.",
    },
)
UserStatus = described_enum(
    models.UserStatus,
    "UserStatus",
    "Whether a user can sign in and work the inbox (R-ADMIN).",
    {
        "ACTIVE": "Signs in, is assignable and is told of new messages as their settings say.",
        "DEACTIVATED": "Cannot sign in: every token authenticates nothing and open WebSockets are closed (4403); not "
        "assignable, told nothing (R-ADMIN).",
    },
)
Provider = described_enum(
    models.Provider,
    "Provider",
    "The channel a messaging app talks through.",
    {
        "TWILIO_WHATSAPP": "WhatsApp through Twilio. Contacts are E.164 phone numbers; free-form replies only within "
        "24 hours of the contact's last message (R-REPLY).",
        "MESSENGER": "Facebook Messenger. Contacts are page-scoped ids (PSID); free-form replies only within 24 hours "
        "of the contact's last message (R-REPLY).",
        "API": "Generic channel: any system posts signed JSON to the app's webhookUrl and receives the replies at its "
        "deliveryUrl. No reply window.",
    },
)
ConversationStatus = described_enum(
    models.ConversationStatus,
    "ConversationStatus",
    "Whether a conversation is being worked on (R-CLOSE).",
    {
        "OPEN": "In UNASSIGNED, ASSIGNED_TO_ME or ASSIGNED_TO_OTHERS, as its assignee gives.",
        "CLOSED": "Done; keeps its assignee. reopenConversation or a new message from the contact opens it again "
        "(R-REOPEN).",
    },
)
Direction = described_enum(
    models.Direction,
    "Direction",
    "Which way a message went.",
    {
        "INBOUND": "From the contact, through the provider.",
        "OUTBOUND": "To the contact: a user's reply, or a message sent from the provider's own tools.",
    },
)
DeliveryStatus = described_enum(
    models.DeliveryStatus,
    "DeliveryStatus",
    "Where a message is on its way (R-REPLY). Outbound messages only move forward: "
    "QUEUED < SENT < DELIVERED < READ; FAILED only from below DELIVERED.",
    {
        "RECEIVED": "An INBOUND message, stored.",
        "QUEUED": "Stored, not yet accepted by the provider (retried if the provider could not be reached).",
        "SENT": "Accepted by the provider.",
        "DELIVERED": "Reached the contact's device.",
        "READ": "Read by the contact.",
        "FAILED": "Refused or undeliverable: see errorCode and errorMessage.",
    },
)
Section = described_enum(
    SectionValue,
    "Section",
    "Where a conversation sits for the viewer (R-SECTION). A deleted conversation is in none.",
    {
        "UNASSIGNED": "Open, with no assignee.",
        "ASSIGNED_TO_ME": "Open and assigned to the viewer.",
        "ASSIGNED_TO_OTHERS": "Open and assigned to someone else.",
        "CLOSED": "Closed, whoever the assignee.",
    },
)

First = Annotated[int | None, strawberry.argument(description="Page size, 1 to 100 (VALIDATION_FAILED outside).")]
After = Annotated[
    str | None,
    strawberry.argument(
        description="The previous page's `pageInfo.endCursor`: this page starts after it. "
        "A malformed cursor is VALIDATION_FAILED."
    ),
]
ConversationId = Annotated[
    strawberry.ID, strawberry.argument(description="The conversation's id; NOT_FOUND if the viewer cannot see it.")
]

__all__ = ["JSON"]


@strawberry.interface(description="An object with a global id; `node(id:)` fetches any of them.")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global id: pass it back as it comes.")


@strawberry.type(
    description="Where a page sits in its list. Lists page by keyset: pass `endCursor` as `after` for the next page."
)
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Whether items follow this page: paging forwards, whether more remain; paging backwards "
        "(`last`), whether the page ended at a `before` cursor."
    )
    has_previous_page: bool = strawberry.field(
        description="Whether items come before this page: paging backwards (`last`), whether older ones remain; "
        "paging forwards, whether the page started at an `after` cursor."
    )
    start_cursor: str | None = strawberry.field(description="The first item's cursor; null on an empty page.")
    end_cursor: str | None = strawberry.field(description="The last item's cursor, for `after`; null on an empty page.")

    @classmethod
    def of(cls, edges: Sequence[Any], *, has_next: bool, has_previous: bool) -> PageInfo:
        """For a page of edges that each have a `cursor`."""
        return cls(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )


W = TypeVar("W")


def _wrap(cls: type[W], type_name: str, row: Any, scalars: tuple[str, ...]) -> W:
    """A type over `row` with its scalar fields copied: a plain attribute costs graphql-core a
    getattr, a method field a whole resolver call, for every row of a page."""
    return cls(id=strawberry.ID(to_api_id(type_name, row.id)), row=row, **{name: getattr(row, name) for name in scalars})


@strawberry.type(
    description="A member of the team. They see only their account (R-TENANT) and the conversations of the apps "
    "shared with them."
)
class User(Node):
    row: strawberry.Private[models.User]
    name: str = strawberry.field(description="Display name; their replies carry it as `senderName`.")
    email: str = strawberry.field(description="Where their notification emails go; unique in the account.")
    role: Role = strawberry.field(description="ADMIN may change messaging settings, MEMBER may not (R-SETTINGS).")
    available: bool = strawberry.field(
        description="Green dot: anyone may assign new conversations to this user (R-AVAIL). New users are available."
    )
    status: UserStatus = strawberry.field(
        description="A DEACTIVATED user's tokens authenticate nothing, and their open WebSockets are closed (R-ADMIN)."
    )

    @classmethod
    def of(cls, row: models.User) -> User:
        return _wrap(cls, "User", row, ("name", "email", "role", "available", "status"))


@strawberry.type(
    description="The company using Switchboard. Every row belongs to one account; nothing crosses accounts (R-TENANT)."
)
class Account(Node):
    name: str = strawberry.field(description="The account's name.")

    @classmethod
    def of(cls, row: models.Account) -> Account:
        return cls(id=strawberry.ID(to_api_id("Account", row.id)), name=row.name)


@strawberry.type(
    description="An installed channel: a WhatsApp number, a Messenger page or an API integration. Its conversations "
    "are visible only to the users it is shared with, admins included (R-SETTINGS)."
)
class MessagingApp(Node):
    row: strawberry.Private[models.MessagingApp]

    @classmethod
    def of(cls, row: models.MessagingApp) -> MessagingApp:
        return cls(id=strawberry.ID(to_api_id("MessagingApp", row.id)), row=row)

    @strawberry.field(description="The channel it talks through.")
    def provider(self) -> Provider:
        return self.row.provider

    @strawberry.field(description="The name the admin gave it.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="The user who installed the app: the only one who may delete its conversations (R-DELETE).")
    async def installed_by(self, info: Info) -> User:
        return User.of(await loaders_of(info).user.load(self.row.installed_by_id))

    @strawberry.field(description="Users with shared access to this app's conversations; the installer always has it.")
    async def shared_with(self) -> list[User]:
        return [User.of(user) for user in await shared_with(self.row)]

    @strawberry.field(
        description="Where the provider must deliver webhooks for this app: PUBLIC_BASE_URL + /webhooks/<provider>/<app id>."
    )
    def webhook_url(self) -> str:
        return webhook_url(self.row)

    @strawberry.field(description="When it was installed.")
    def created_at(self) -> datetime:
        return self.row.created_at


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
        return _wrap(cls, "Contact", row, ("external_id", "name", "avatar_url"))


@strawberry.type(description="A file carried by a message.")
class Attachment:
    url: str = strawberry.field(description="Where to fetch the file, as the channel delivered it.")
    content_type: str | None = strawberry.field(description="MIME type, e.g. image/jpeg; null when the channel did not say.")


@strawberry.type(description="One message of a conversation, from the contact or to them.")
class Message(Node):
    row: strawberry.Private[models.Message]
    direction: Direction = strawberry.field(description="INBOUND from the contact, OUTBOUND to them.")
    text: str | None = strawberry.field(description="The text; null for a message of attachments only.")
    sender_name: str | None = strawberry.field(description="Contact name for INBOUND, user name for OUTBOUND.")
    status: DeliveryStatus = strawberry.field(description="Where it is on its way (R-REPLY); INBOUND messages are RECEIVED.")
    error_code: str | None = strawberry.field(description="Provider error code when status is FAILED, e.g. 63016.")
    error_message: str | None = strawberry.field(description="What the provider's error code means, when status is FAILED.")
    created_at: datetime = strawberry.field(description="When it was stored: received from the provider, or sent.")

    @classmethod
    def of(cls, row: models.Message) -> Message:
        return _wrap(cls, "Message", row, ("direction", "text", "sender_name", "status", "error_code", "error_message", "created_at"))

    @strawberry.field(description="The conversation it belongs to.")
    async def conversation(self, info: Info) -> Annotated[Conversation, strawberry.lazy("schema.types")]:
        return Conversation.of(await loaders_of(info).conversation.load(self.row.conversation_id))

    @strawberry.field(description="The files it carries, in order; empty when none.")
    def attachments(self) -> list[Attachment]:
        return [Attachment(url=a["url"], content_type=a.get("contentType")) for a in shown_attachments(self.row)]

    @strawberry.field(description="The user who sent it; null for INBOUND and for messages sent outside Switchboard.")
    async def sent_by(self, info: Info) -> User | None:
        if self.row.sent_by_id is None:
            return None
        return User.of(await loaders_of(info).user.load(self.row.sent_by_id))


@strawberry.type(description="A message and its place in the thread.")
class MessageEdge:
    cursor: str = strawberry.field(description="Pass it as `after` or `before` to page from this message.")
    node: Message = strawberry.field(description="The message.")


@strawberry.type(description="A page of a conversation's messages, oldest first.")
class MessageConnection:
    edges: list[MessageEdge] = strawberry.field(description="This page's messages, oldest first.")
    page_info: PageInfo = strawberry.field(description="Cursors, and whether there is more either way.")


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
        return _wrap(cls, "Conversation", row, ("status", "last_message_at", "created_at"))

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

    @strawberry.field(description="Its newest message, either way; null when it has none.")
    async def last_message(self, info: Info) -> Message | None:
        if self.row.last_message_id is None:
            return None
        row = await loaders_of(info).message.load(self.row.last_message_id)
        return Message.of(row) if row else None

    @strawberry.field(description="Oldest first; `last`/`before` page backwards from the newest.")
    async def messages(
        self,
        first: First = None,
        after: After = None,
        last: Annotated[
            int | None, strawberry.argument(description="The newest this many (before `before`), 1 to 100, instead of `first`.")
        ] = None,
        before: Annotated[
            str | None, strawberry.argument(description="A message's cursor: the page ends before it (with `last`).")
        ] = None,
    ) -> MessageConnection:
        page = await messages_page(self.row, first=first, after=after, last=last, before=before)
        edges = [MessageEdge(cursor=message_cursor(row), node=Message.of(row)) for row in page.rows]
        return MessageConnection(
            edges=edges,
            page_info=PageInfo.of(edges, has_next=page.has_next, has_previous=page.has_previous),
        )

    @strawberry.field(description="The person it is linked to; its history is written there as notes (R-LINK, R-NOTE).")
    async def linked_person(self, info: Info) -> Annotated[Person, strawberry.lazy("schema.crm")] | None:
        from schema.crm import linked

        return await linked(info, self.row, models.LinkKind.PERSON)

    @strawberry.field(description="The lead it is linked to; its history is written there as notes (R-LINK, R-NOTE).")
    async def linked_lead(self, info: Info) -> Annotated[Lead, strawberry.lazy("schema.crm")] | None:
        from schema.crm import linked

        return await linked(info, self.row, models.LinkKind.LEAD)

    @strawberry.field(description="The deal it is linked to; its history is written there as notes (R-LINK, R-NOTE).")
    async def linked_deal(self, info: Info) -> Annotated[Deal, strawberry.lazy("schema.crm")] | None:
        from schema.crm import linked

        return await linked(info, self.row, models.LinkKind.DEAL)

    @strawberry.field(
        description="Whether a free-form reply can be sent now (the provider's reply window is open, R-REPLY); "
        "always true on API apps."
    )
    async def can_reply(self, info: Info) -> bool:
        app = await loaders_of(info).app.load(self.row.app_id)
        return can_reply(app.provider, self.row)

    @strawberry.field(description="When the reply window closes (24 h after the contact's last message); null when the channel has none.")
    async def reply_window_ends_at(self, info: Info) -> datetime | None:
        app = await loaders_of(info).app.load(self.row.app_id)
        return reply_window_ends_at(app.provider, self.row)


@strawberry.type(description="A conversation and its place in the section.")
class ConversationEdge:
    cursor: str = strawberry.field(description="Pass it as `after` to continue after this conversation.")
    node: Conversation = strawberry.field(description="The conversation.")


@strawberry.type(description="A page of one section, newest `lastMessageAt` first, ties by id (R-SECTION).")
class ConversationConnection:
    edges: list[ConversationEdge] = strawberry.field(description="This page's conversations, newest first.")
    page_info: PageInfo = strawberry.field(description="Cursors, and whether more follow.")
    total_count: int = strawberry.field(description="How many conversations the whole section holds, not only this page.")


@strawberry.type(description="How many conversations each section holds for the viewer (R-SECTION).")
class SectionCounts:
    unassigned: int = strawberry.field(description="Open, with no assignee.")
    assigned_to_me: int = strawberry.field(description="Open and assigned to the viewer.")
    assigned_to_others: int = strawberry.field(description="Open and assigned to someone else.")
    closed: int = strawberry.field(description="Closed, whoever the assignee.")


@strawberry.type(description="A new user and their first API token.")
class CreatedUser:
    user: User = strawberry.field(description="The new user, available, with the role asked for.")
    token: str = strawberry.field(description="Shown once; store it. Sent as `Authorization: Bearer <token>`.")
