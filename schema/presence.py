from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import presence
from resolvers.presence import PresenceActivity
from schema.context import viewer_of
from schema.loaders import Loaders
from schema.types import ConversationId
from schema.types.presence import Presence


@strawberry.type
class PresenceMutation:
    @strawberry.mutation(
        description="R-PRESENCE: heartbeat while a conversation is open (every <= 20 s); null activity: left. "
        "Expires 30 s after the last call and when the socket closes."
    )
    async def set_presence(
        self,
        info: Info,
        conversation_id: ConversationId,
        activity: Annotated[
            PresenceActivity | None, strawberry.argument(description="VIEWING or TYPING; null: the user left.")
        ] = None,
    ) -> bool:
        return await presence.set_presence(viewer_of(info), conversation_id, activity, info.context.presence_set)


@strawberry.type
class PresenceSubscription:
    @strawberry.subscription(
        description="The conversation's presence list, sent whole on subscribe and on every change."
    )
    async def conversation_presence(
        self, info: Info, conversation_id: ConversationId
    ) -> AsyncGenerator[list[Presence], None]:
        # A coroutine returning the stream, as inboxEvents: a conversation the viewer cannot see is
        # answered NOT_FOUND with a graphql-transport-ws `error` message before any payload.
        conversation_pk = await presence.watched_conversation(viewer_of(info), conversation_id)
        return _presence_lists(info, conversation_pk)


async def _presence_lists(info: Info, conversation_pk: int) -> AsyncGenerator[list[Presence], None]:
    async for entries in presence.watch_presence(conversation_pk):
        info.context.loaders = Loaders()  # fresh names for each list
        yield [Presence.of(entry) for entry in entries]
