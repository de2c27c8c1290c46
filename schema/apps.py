from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers import apps, routing
from resolvers.ids import to_api_id
from schema.context import viewer_of
from schema.types import AssignmentMode, MessagingApp, Provider


@strawberry.input(description="A channel to install.")
class InstallMessagingAppInput:
    provider: Provider = strawberry.field(description="Which channel; the credentials depend on it.")
    name: str = strawberry.field(description="What the team calls it, 1 to 200 characters.")
    credentials: JSON = strawberry.field(
        description="Provider credentials, e.g. {accountSid, authToken, fromNumber} or "
        "{pageId, pageAccessToken, appSecret, verifyToken}. Never readable back."
    )
    share_with: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Users given shared access; the installer always has it."
    )


@strawberry.type
class AppsQuery:
    @strawberry.field(description="For an ADMIN every app of the account, for a MEMBER the apps shared with them.")
    async def messaging_apps(self, info: Info) -> list[MessagingApp]:
        return [MessagingApp.of(row) for row in await apps.messaging_apps(viewer_of(info))]


@strawberry.type
class AppsMutation:
    @strawberry.mutation(
        description="ADMIN (R-SETTINGS): installs a channel; the installer gets access and is the only one who may "
        "delete its conversations. FORBIDDEN for members (and for WhatsApp when WHATSAPP_NEW_INSTALLS=false); "
        "VALIDATION_FAILED names a bad name or credential key; NOT_FOUND for an unknown user in shareWith."
    )
    async def install_messaging_app(
        self,
        info: Info,
        input: Annotated[InstallMessagingAppInput, strawberry.argument(description="What to install.")],
    ) -> MessagingApp:
        row = await apps.install_messaging_app(
            viewer_of(info), input.provider, input.name, input.credentials, list(input.share_with or [])
        )
        return MessagingApp.of(row)

    @strawberry.mutation(
        description="ADMIN (R-SETTINGS): sets the whole list of users with access to the app's conversations; the "
        "installer always keeps it. FORBIDDEN for members; NOT_FOUND for an unknown app or user."
    )
    async def share_messaging_app(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The app's id.")],
        user_ids: Annotated[
            list[strawberry.ID], strawberry.argument(description="Everyone who should have access: replaces the list.")
        ],
    ) -> MessagingApp:
        return MessagingApp.of(await apps.share_messaging_app(viewer_of(info), id, list(user_ids)))

    @strawberry.mutation(
        description="ADMIN (R-SETTINGS): removes the app with its contacts, conversations and messages; returns its id. "
        "FORBIDDEN for members; NOT_FOUND for an unknown app."
    )
    async def uninstall_messaging_app(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The app's id.")]
    ) -> strawberry.ID:
        return strawberry.ID(to_api_id("MessagingApp", await apps.uninstall_messaging_app(viewer_of(info), id)))

    @strawberry.mutation(
        description="ADMIN (R-ROUTE): sets how the app's new and reopened unassigned conversations are assigned; "
        "its queued ones are taken at once under the new policy. FORBIDDEN for members; NOT_FOUND for an unknown "
        "app; VALIDATION_FAILED (field maxOpenPerUser) for a cap below 1 or above 10000."
    )
    async def set_assignment_policy(
        self,
        info: Info,
        app_id: Annotated[strawberry.ID, strawberry.argument(description="The app's id.")],
        mode: Annotated[AssignmentMode, strawberry.argument(description="MANUAL, ROUND_ROBIN or BALANCED.")],
        max_open_per_user: Annotated[
            int | None, strawberry.argument(description="The cap per user; null: no cap.")
        ] = None,
    ) -> MessagingApp:
        return MessagingApp.of(await routing.set_assignment_policy(viewer_of(info), app_id, mode, max_open_per_user))
