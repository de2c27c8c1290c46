"""R-TEMPLATE's mutations: syncing templates, sending one, and writing first."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import outreach, templates
from schema.context import viewer_of
from schema.types import Conversation, ConversationId, Message, MessageTemplate


@strawberry.input(description="The value of one of a template's placeholders.")
class TemplateVariableInput:
    key: str = strawberry.field(description='The placeholder key, e.g. "1" for {{1}}.')
    value: str = strawberry.field(
        description="Plain text on one line (no tab, at most four spaces in a row), at most 1,024 characters."
    )


def _pairs(variables: list[TemplateVariableInput]) -> list[tuple[str, str]]:
    return [(variable.key, variable.value) for variable in variables]


TemplateId = Annotated[strawberry.ID, strawberry.argument(description="A template of the conversation's app.")]
Variables = Annotated[
    list[TemplateVariableInput],
    strawberry.argument(description="A value for every placeholder (VALIDATION_FAILED names a missing one)."),
]


@strawberry.type
class TemplatesMutation:
    @strawberry.mutation(
        description="R-TEMPLATE: an APPROVED template, inside or outside the reply window; TEMPLATE_NOT_APPROVED "
        "otherwise. Stored with its rendered text, then sent as sendMessage is (PROVIDER_ERROR with providerCode on "
        "a refusal). It does not extend the reply window."
    )
    async def send_template(
        self, info: Info, conversation_id: ConversationId, template_id: TemplateId, variables: Variables
    ) -> Message:
        return Message.of(
            await outreach.send_template(viewer_of(info), conversation_id, template_id, _pairs(variables))
        )

    @strawberry.mutation(
        description="R-TEMPLATE: the first message to a phone number on a WhatsApp app; finds the live conversation "
        "if there is one. The conversation is open and, unless someone has it, assigned to the caller "
        "(ASSIGNEE_UNAVAILABLE when the caller is unavailable); linked to `personId` if given."
    )
    async def start_conversation(
        self,
        info: Info,
        app_id: Annotated[strawberry.ID, strawberry.argument(description="A WhatsApp app shared with the caller.")],
        to: Annotated[str, strawberry.argument(description="The phone number in E.164 form, e.g. +4915112345678.")],
        template_id: TemplateId,
        variables: Variables,
        person_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="A person to link the conversation to (R-LINK).")
        ] = None,
    ) -> Conversation:
        row = await outreach.start_conversation(viewer_of(info), app_id, to, template_id, _pairs(variables), person_id)
        return Conversation.of(row)

    @strawberry.mutation(
        description="ADMIN: fetch the app's templates from the provider now (also done periodically). Templates gone "
        "upstream become DISABLED. FORBIDDEN for members; PROVIDER_ERROR (providerCode) when the provider refuses."
    )
    async def sync_message_templates(
        self, info: Info, app_id: Annotated[strawberry.ID, strawberry.argument(description="A WhatsApp app's id.")]
    ) -> list[MessageTemplate]:
        return [MessageTemplate.of(row) for row in await templates.sync_message_templates(viewer_of(info), app_id)]
