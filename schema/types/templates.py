"""WhatsApp message templates (R-TEMPLATE)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

import models
from schema.context import loaders_of
from schema.types.apps import MessagingApp
from schema.types.common import Node, describe_enum, wrap

TemplateStatus = models.TemplateStatus
describe_enum(
    TemplateStatus,
    "TemplateStatus",
    "Where a template stands with WhatsApp, as last synced (R-TEMPLATE). Only APPROVED ones can be sent.",
    {
        "APPROVED": "Approved by WhatsApp: may be sent, inside or outside the reply window.",
        "PENDING": "Not decided yet (or not submitted for approval).",
        "REJECTED": "Refused by WhatsApp.",
        "PAUSED": "Paused by WhatsApp (e.g. for poor quality); cannot be sent until it is resumed.",
        "DISABLED": "Disabled by WhatsApp, or gone from the provider: kept for the messages sent from it.",
    },
)
TemplateCategory = models.TemplateCategory
describe_enum(
    TemplateCategory,
    "TemplateCategory",
    "What WhatsApp considers the template to be for (it sets the price of a conversation).",
    {
        "MARKETING": "Promotions, offers, news.",
        "UTILITY": "About a transaction or account the contact has: orders, quotes, appointments.",
        "AUTHENTICATION": "One-time passcodes.",
    },
)


@strawberry.type(description="An approved WhatsApp template may be sent outside the 24-hour reply window (R-TEMPLATE).")
class MessageTemplate(Node):
    row: strawberry.Private[models.MessageTemplate]
    external_id: str = strawberry.field(description="The provider's id: a Twilio Content SID (HX...).")
    name: str = strawberry.field(description="The template's name at the provider.")
    language: str = strawberry.field(description="Its language code, e.g. en or pt_BR.")
    category: TemplateCategory | None = strawberry.field(
        description="MARKETING, UTILITY or AUTHENTICATION; null when the provider gives none."
    )
    status: TemplateStatus = strawberry.field(description="Where it stands with WhatsApp; only APPROVED can be sent.")
    body: str = strawberry.field(
        description="The text with its placeholders, e.g. 'Hi {{1}}, your quote {{2}} is ready.'"
    )
    variables: list[str] = strawberry.field(description='The placeholder keys in order, e.g. ["1", "2"].')

    @classmethod
    def of(cls, row: models.MessageTemplate) -> MessageTemplate:
        return wrap(
            cls,
            "MessageTemplate",
            row,
            ("external_id", "name", "language", "category", "status", "body", "variables"),
        )

    @strawberry.field(description="The WhatsApp app it belongs to.")
    async def app(self, info: Info) -> MessagingApp:
        return MessagingApp.of(await loaders_of(info).app.load(self.row.app_id))
