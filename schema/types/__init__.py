"""The GraphQL object types, by concern: thin wrappers over rows; every rule is asked of resolvers/.

The roots are apart: each concern's Query, Mutation and Subscription fields, with its inputs, are in
schema/<concern>.py and take their types from here."""

from schema.types.apps import AssignmentMode, AssignmentPolicy, MessagingApp, Provider
from schema.types.common import (
    After,
    Connection,
    ConversationId,
    Edge,
    First,
    Node,
    PageInfo,
    connection,
    describe_enum,
)
from schema.types.crm import Deal, DealConnection, Lead, LeadConnection, LinkKind, Note, Person, PersonConnection
from schema.types.inbox import (
    Attachment,
    Contact,
    Conversation,
    ConversationConnection,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Label,
    Message,
    MessageConnection,
    Section,
    SectionCounts,
    UploadedFile,
)
from schema.types.notifications import Notification, NotificationConnection, NotificationKind, NotificationSetting
from schema.types.realtime import InboxEvent, InboxEventType
from schema.types.search import ConversationSearchConnection, ConversationSearchEdge, ConversationSearchHit
from schema.types.signin import ApiToken, CreatedToken, SignInResult, TokenKind
from schema.types.team import Account, CannedReply, CreatedUser, Role, User, UserStatus
from schema.types.templates import MessageTemplate, TemplateCategory, TemplateStatus

__all__ = [
    "Account",
    "After",
    "ApiToken",
    "AssignmentMode",
    "AssignmentPolicy",
    "Attachment",
    "CannedReply",
    "Connection",
    "Contact",
    "Conversation",
    "ConversationConnection",
    "ConversationId",
    "ConversationSearchConnection",
    "ConversationSearchEdge",
    "ConversationSearchHit",
    "ConversationStatus",
    "CreatedToken",
    "CreatedUser",
    "Deal",
    "DealConnection",
    "DeliveryStatus",
    "Direction",
    "Edge",
    "First",
    "InboxEvent",
    "InboxEventType",
    "Label",
    "Lead",
    "LeadConnection",
    "LinkKind",
    "Message",
    "MessageConnection",
    "MessageTemplate",
    "MessagingApp",
    "Node",
    "Note",
    "Notification",
    "NotificationConnection",
    "NotificationKind",
    "NotificationSetting",
    "PageInfo",
    "Person",
    "PersonConnection",
    "Provider",
    "Role",
    "Section",
    "SectionCounts",
    "SignInResult",
    "TemplateCategory",
    "TemplateStatus",
    "TokenKind",
    "UploadedFile",
    "User",
    "UserStatus",
    "connection",
    "describe_enum",
]
