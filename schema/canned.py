from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import canned
from resolvers.ids import to_api_id
from schema.context import viewer_of
from schema.types import CannedReply, ConversationId

CannedReplyId = Annotated[strawberry.ID, strawberry.argument(description="The canned reply's id.")]
Shortcut = Annotated[
    str,
    strawberry.argument(
        description="1 to 32 letters, digits, '-' or '_' (a leading `/` is dropped, stored lower case); unique among "
        "the owner's, or among the shared ones (VALIDATION_FAILED)."
    ),
]
Text = Annotated[
    str,
    strawberry.argument(
        description="Not blank, at most 4,000 characters; placeholders only {{contact.name}}, {{user.name}}, "
        "{{person.name}}, {{deal.title}} (VALIDATION_FAILED for any other)."
    ),
]


@strawberry.type
class CannedQuery:
    @strawberry.field(
        description="The viewer's own and the team's canned replies, by shortcut, at most 100; `search` matches "
        "shortcut and text, whatever the case."
    )
    async def canned_replies(
        self,
        info: Info,
        search: Annotated[
            str | None, strawberry.argument(description="Part of a shortcut (with or without `/`) or of the text.")
        ] = None,
    ) -> list[CannedReply]:
        return [CannedReply.of(row) for row in await canned.canned_replies(viewer_of(info), search)]


@strawberry.type
class CannedMutation:
    @strawberry.mutation(
        description="A canned reply of the viewer's own; `shared: true` (the whole team sees it) is for admins only "
        "(FORBIDDEN)."
    )
    async def create_canned_reply(
        self,
        info: Info,
        shortcut: Shortcut,
        text: Text,
        shared: Annotated[
            bool | None, strawberry.argument(description="ADMIN: the whole team sees and uses it.")
        ] = False,
    ) -> CannedReply:
        return CannedReply.of(await canned.create_canned_reply(viewer_of(info), shortcut, text, shared=bool(shared)))

    @strawberry.mutation(
        description="Changes one's own canned reply, or (admins) a shared one; FORBIDDEN for a member and a shared one."
    )
    async def update_canned_reply(
        self,
        info: Info,
        id: CannedReplyId,
        shortcut: Annotated[str | None, strawberry.argument(description="A new shortcut; unchanged if null.")] = None,
        text: Annotated[
            str | None, strawberry.argument(description="A new text (same rules as on create); unchanged if null.")
        ] = None,
    ) -> CannedReply:
        return CannedReply.of(await canned.update_canned_reply(viewer_of(info), id, shortcut=shortcut, text=text))

    @strawberry.mutation(description="Deletes one's own canned reply, or (admins) a shared one. Returns its id.")
    async def delete_canned_reply(self, info: Info, id: CannedReplyId) -> strawberry.ID:
        return strawberry.ID(to_api_id("CannedReply", await canned.delete_canned_reply(viewer_of(info), id)))

    @strawberry.mutation(
        description="The canned reply's text with the conversation's placeholders filled in: the contact's name, the "
        "viewer's name, the linked person's name, the linked deal's title; one without a value is empty. Plain text, "
        "to send with sendMessage (refused there like any reply outside the reply window)."
    )
    async def render_canned_reply(self, info: Info, id: CannedReplyId, conversation_id: ConversationId) -> str:
        return await canned.render_canned_reply(viewer_of(info), id, conversation_id)
