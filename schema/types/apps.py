"""Messaging apps: the channels installed in the account."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

import models
from resolvers.apps import shared_with, webhook_url
from schema.context import loaders_of
from schema.types.common import Node, describe_enum, wrap
from schema.types.team import User

if TYPE_CHECKING:  # the templates' types refer to MessagingApp
    from schema.types.templates import MessageTemplate, TemplateStatus

Provider = models.Provider
describe_enum(
    Provider,
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


AssignmentMode = models.AssignmentMode
describe_enum(
    AssignmentMode,
    "AssignmentMode",
    "How new and reopened unassigned conversations of an app are assigned (R-ROUTE).",
    {
        "MANUAL": "Nobody is assigned automatically.",
        "ROUND_ROBIN": "Available users with access take turns.",
        "BALANCED": "The available user with access and the fewest open conversations.",
    },
)


@strawberry.type(description="An app's automatic assignment (R-ROUTE).")
class AssignmentPolicy:
    mode: AssignmentMode
    max_open_per_user: int | None = strawberry.field(
        description="At most this many open conversations per user from automatic assignment; null: no cap."
    )


@strawberry.type(
    description="An installed channel: a WhatsApp number, a Messenger page or an API integration. Its conversations "
    "are visible only to the users it is shared with, admins included (R-SETTINGS)."
)
class MessagingApp(Node):
    row: strawberry.Private[models.MessagingApp]

    @classmethod
    def of(cls, row: models.MessagingApp) -> MessagingApp:
        return wrap(cls, "MessagingApp", row)

    @strawberry.field(description="The channel it talks through.")
    def provider(self) -> Provider:
        return self.row.provider

    @strawberry.field(description="The name the admin gave it.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(
        description="The user who installed the app: the only one who may delete its conversations (R-DELETE)."
    )
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

    @strawberry.field(
        description="WhatsApp message templates as last synced from the provider (R-TEMPLATE); empty for other "
        "providers. By name; `status` keeps only those in that status (APPROVED: the ones that can be sent)."
    )
    async def templates(
        self,
        info: Info,
        status: Annotated[
            Annotated[TemplateStatus, strawberry.lazy("schema.types.templates")] | None,
            strawberry.argument(description="Only templates in this status; null: all of them."),
        ] = None,
    ) -> list[Annotated[MessageTemplate, strawberry.lazy("schema.types.templates")]]:
        from schema.types.templates import MessageTemplate

        rows = await loaders_of(info).app_templates.load(self.row.id)
        chosen = [row for row in rows if status is None or row.status == status]
        return [MessageTemplate.of(row) for row in sorted(chosen, key=lambda row: (row.name, row.language, row.id))]

    @strawberry.field(description="When its templates were last synced (R-TEMPLATE); null: never.")
    def templates_synced_at(self) -> datetime | None:
        return self.row.templates_synced_at

    @strawberry.field(description="How new and reopened unassigned conversations of this app are assigned (R-ROUTE).")
    def assignment_policy(self) -> AssignmentPolicy:
        return AssignmentPolicy(mode=self.row.assignment_mode, max_open_per_user=self.row.max_open_per_user)
