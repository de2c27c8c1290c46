from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers import apps
from resolvers.ids import to_api_id
from schema.context import viewer_of
from schema.types import MessagingApp, Provider


@strawberry.input
class InstallMessagingAppInput:
    provider: Provider
    name: str
    credentials: JSON = strawberry.field(
        description="Provider credentials, e.g. {accountSid, authToken, fromNumber} or "
        "{pageId, pageAccessToken, appSecret, verifyToken}. Never readable back."
    )
    share_with: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Users given shared access; the installer always has it."
    )


@strawberry.type
class AppsQuery:
    @strawberry.field
    async def messaging_apps(self, info: Info) -> list[MessagingApp]:
        return [MessagingApp.of(row) for row in await apps.messaging_apps(viewer_of(info))]


@strawberry.type
class AppsMutation:
    @strawberry.mutation
    async def install_messaging_app(self, info: Info, input: InstallMessagingAppInput) -> MessagingApp:
        row = await apps.install_messaging_app(
            viewer_of(info), input.provider, input.name, input.credentials, list(input.share_with or [])
        )
        return MessagingApp.of(row)

    @strawberry.mutation
    async def share_messaging_app(self, info: Info, id: strawberry.ID, user_ids: list[strawberry.ID]) -> MessagingApp:
        return MessagingApp.of(await apps.share_messaging_app(viewer_of(info), id, list(user_ids)))

    @strawberry.mutation
    async def uninstall_messaging_app(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        return strawberry.ID(to_api_id("MessagingApp", await apps.uninstall_messaging_app(viewer_of(info), id)))
