"""Tortoise models. Every row belongs to one account (R-TENANT)."""

from models.accounts import Account, ApiToken, Role, User
from models.apps import AppAccess, MessagingApp, Provider
from models.events import InboxEvent, InboxEventType
from models.inbox import Contact, Conversation, ConversationStatus, DeliveryStatus, Direction, Message

__all__ = [
    "Account",
    "ApiToken",
    "AppAccess",
    "Contact",
    "Conversation",
    "ConversationStatus",
    "DeliveryStatus",
    "Direction",
    "InboxEvent",
    "InboxEventType",
    "Message",
    "MessagingApp",
    "Provider",
    "Role",
    "User",
]
