"""Tortoise models. Every row belongs to one account (R-TENANT)."""

from models.accounts import Account, ApiToken, Role, TokenKind, User, UserStatus
from models.apps import AppAccess, AssignmentMode, MessagingApp, Provider
from models.canned import CannedReply
from models.crm import ConversationLink, Deal, Lead, LinkKind, Note, Person
from models.events import InboxEvent, InboxEventType
from models.files import FileState, StoredFile
from models.inbox import (
    Attachment,
    Contact,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Message,
    MessageMention,
)
from models.labels import ConversationLabel, Label
from models.notifications import (
    EmailItem,
    EmailStatus,
    Notification,
    NotificationKind,
    NotificationSetting,
    OutboxEmail,
)
from models.outbound import OutboundSend
from models.signin import CodePurpose, RateCounter, SignInCode, SignInEmail
from models.templates import MessageTemplate, TemplateCategory, TemplateStatus

__all__ = [
    "Account",
    "ApiToken",
    "AppAccess",
    "AssignmentMode",
    "Attachment",
    "CannedReply",
    "CodePurpose",
    "Contact",
    "Conversation",
    "ConversationLabel",
    "ConversationLink",
    "ConversationStatus",
    "Deal",
    "DeliveryStatus",
    "Direction",
    "EmailItem",
    "EmailStatus",
    "FileState",
    "InboxEvent",
    "InboxEventType",
    "Label",
    "Lead",
    "LinkKind",
    "Message",
    "MessageMention",
    "MessageTemplate",
    "MessagingApp",
    "Note",
    "Notification",
    "NotificationKind",
    "NotificationSetting",
    "OutboundSend",
    "OutboxEmail",
    "Person",
    "Provider",
    "RateCounter",
    "Role",
    "SignInCode",
    "SignInEmail",
    "StoredFile",
    "TemplateCategory",
    "TemplateStatus",
    "TokenKind",
    "User",
    "UserStatus",
]
