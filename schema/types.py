"""The GraphQL object types: thin wrappers over rows; every rule is asked of resolvers/."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

import models
from resolvers.apps import shared_with, webhook_url
from resolvers.ids import to_api_id
from resolvers.messages import message_cursor, messages_page
from resolvers.replies import can_reply, reply_window_ends_at
from resolvers.sections import Section as SectionValue
from resolvers.sections import section_of
from schema.context import loaders_of, viewer_of
from schema.loaders import related

Role = strawberry.enum(models.Role, name="Role")
UserStatus = strawberry.enum(models.UserStatus, name="UserStatus")
Provider = strawberry.enum(models.Provider, name="Provider")
ConversationStatus = strawberry.enum(models.ConversationStatus, name="ConversationStatus")
Direction = strawberry.enum(models.Direction, name="Direction")
DeliveryStatus = strawberry.enum(models.DeliveryStatus, name="DeliveryStatus")
Section = strawberry.enum(SectionValue, name="Section")

__all__ = ["JSON"]


@strawberry.interface
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None

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


@strawberry.type
class User(Node):
    row: strawberry.Private[models.User]
    name: str
    email: str
    role: Role
    available: bool = strawberry.field(description="Green dot: anyone may assign new conversations to this user.")
    status: UserStatus = strawberry.field(
        description="A DEACTIVATED user's tokens authenticate nothing, and their open WebSockets are closed (R-ADMIN)."
    )

    @classmethod
    def of(cls, row: models.User) -> User:
        return _wrap(cls, "User", row, ("name", "email", "role", "available", "status"))


@strawberry.type
class Account(Node):
    name: str

    @classmethod
    def of(cls, row: models.Account) -> Account:
        return cls(id=strawberry.ID(to_api_id("Account", row.id)), name=row.name)


@strawberry.type
class MessagingApp(Node):
    row: strawberry.Private[models.MessagingApp]

    @classmethod
    def of(cls, row: models.MessagingApp) -> MessagingApp:
        return cls(id=strawberry.ID(to_api_id("MessagingApp", row.id)), row=row)

    @strawberry.field
    def provider(self) -> Provider:
        return self.row.provider

    @strawberry.field
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="The user who installed the app: the only one who may delete its conversations.")
    async def installed_by(self, info: Info) -> User:
        return User.of(await loaders_of(info).user.load(self.row.installed_by_id))

    @strawberry.field(description="Users with shared access to this app's conversations.")
    async def shared_with(self) -> list[User]:
        return [User.of(user) for user in await shared_with(self.row)]

    @strawberry.field(description="Where the provider must deliver webhooks for this app.")
    def webhook_url(self) -> str:
        return webhook_url(self.row)

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at


@strawberry.type
class Contact(Node):
    row: strawberry.Private[models.Contact]
    external_id: str = strawberry.field(description="The provider's id for the person: E.164 phone for WhatsApp, PSID for Messenger.")
    name: str | None
    avatar_url: str | None

    @classmethod
    def of(cls, row: models.Contact) -> Contact:
        return _wrap(cls, "Contact", row, ("external_id", "name", "avatar_url"))


@strawberry.type
class Attachment:
    url: str
    content_type: str | None


@strawberry.type
class Message(Node):
    row: strawberry.Private[models.Message]
    direction: Direction
    text: str | None
    sender_name: str | None = strawberry.field(description="Contact name for INBOUND, user name for OUTBOUND.")
    status: DeliveryStatus
    error_code: str | None = strawberry.field(description="Provider error code when status is FAILED, e.g. 63016.")
    error_message: str | None = strawberry.field(description="What the provider's error code means, when status is FAILED.")
    created_at: datetime

    @classmethod
    def of(cls, row: models.Message) -> Message:
        return _wrap(cls, "Message", row, ("direction", "text", "sender_name", "status", "error_code", "error_message", "created_at"))

    @strawberry.field
    async def conversation(self, info: Info) -> Annotated[Conversation, strawberry.lazy("schema.types")]:
        return Conversation.of(await loaders_of(info).conversation.load(self.row.conversation_id))

    @strawberry.field
    def attachments(self) -> list[Attachment]:
        return [Attachment(url=a["url"], content_type=a.get("contentType")) for a in self.row.attachments or []]

    @strawberry.field
    async def sent_by(self, info: Info) -> User | None:
        if self.row.sent_by_id is None:
            return None
        return User.of(await loaders_of(info).user.load(self.row.sent_by_id))


@strawberry.type
class MessageEdge:
    cursor: str
    node: Message


@strawberry.type
class MessageConnection:
    edges: list[MessageEdge]
    page_info: PageInfo


@strawberry.type
class Conversation(Node):
    row: strawberry.Private[models.Conversation]
    status: ConversationStatus
    last_message_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: models.Conversation) -> Conversation:
        return _wrap(cls, "Conversation", row, ("status", "last_message_at", "created_at"))

    @strawberry.field
    async def app(self, info: Info) -> MessagingApp:
        return MessagingApp.of(await loaders_of(info).app.load(self.row.app_id))

    @strawberry.field
    def contact(self, info: Info) -> Contact:
        return related(self.row, "contact", loaders_of(info).contact, Contact.of)  # type: ignore[return-value]

    @strawberry.field(description="Where the viewer sees it.")
    def section(self, info: Info) -> Section:
        return section_of(viewer_of(info), self.row)

    @strawberry.field
    def assignee(self, info: Info) -> User | None:
        return related(self.row, "assignee", loaders_of(info).user, User.of)  # type: ignore[return-value]

    @strawberry.field
    async def last_message(self, info: Info) -> Message | None:
        if self.row.last_message_id is None:
            return None
        row = await loaders_of(info).message.load(self.row.last_message_id)
        return Message.of(row) if row else None

    @strawberry.field(description="Oldest first; `last`/`before` page backwards from the newest.")
    async def messages(
        self, first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None
    ) -> MessageConnection:
        page = await messages_page(self.row, first=first, after=after, last=last, before=before)
        edges = [MessageEdge(cursor=message_cursor(row), node=Message.of(row)) for row in page.rows]
        return MessageConnection(
            edges=edges,
            page_info=PageInfo.of(edges, has_next=page.has_next, has_previous=page.has_previous),
        )

    @strawberry.field
    async def linked_person(self, info: Info) -> Annotated[Person, strawberry.lazy("schema.crm")] | None:
        from schema.crm import linked

        return await linked(info, self.row, models.LinkKind.PERSON)

    @strawberry.field
    async def linked_lead(self, info: Info) -> Annotated[Lead, strawberry.lazy("schema.crm")] | None:
        from schema.crm import linked

        return await linked(info, self.row, models.LinkKind.LEAD)

    @strawberry.field
    async def linked_deal(self, info: Info) -> Annotated[Deal, strawberry.lazy("schema.crm")] | None:
        from schema.crm import linked

        return await linked(info, self.row, models.LinkKind.DEAL)

    @strawberry.field(description="Whether a free-form reply can be sent now (the provider's reply window is open).")
    async def can_reply(self, info: Info) -> bool:
        app = await loaders_of(info).app.load(self.row.app_id)
        return can_reply(app.provider, self.row)

    @strawberry.field(description="When the reply window closes (24 h after the contact's last message); null when the channel has none.")
    async def reply_window_ends_at(self, info: Info) -> datetime | None:
        app = await loaders_of(info).app.load(self.row.app_id)
        return reply_window_ends_at(app.provider, self.row)


@strawberry.type
class ConversationEdge:
    cursor: str
    node: Conversation


@strawberry.type
class ConversationConnection:
    edges: list[ConversationEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class SectionCounts:
    unassigned: int
    assigned_to_me: int
    assigned_to_others: int
    closed: int


@strawberry.type
class CreatedUser:
    user: User
    token: str = strawberry.field(description="Shown once; store it. Sent as `Authorization: Bearer <token>`.")
