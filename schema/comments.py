from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import comments
from schema.context import viewer_of
from schema.types import ConversationId, Message


@strawberry.type
class CommentsMutation:
    @strawberry.mutation(
        description="R-COMMENT: an INTERNAL message in the thread, for the team only: never sent to the contact, never "
        "in CRM notes, and it does not move the conversation (section, status, lastMessage and the reply window stay). "
        "Each mentioned user is notified (MENTIONED). Mentioning a user without access to the conversation's app is "
        "MENTION_NO_ACCESS (`userIds`) and nothing is stored."
    )
    async def add_comment(
        self,
        info: Info,
        conversation_id: ConversationId,
        text: Annotated[
            str,
            strawberry.argument(description="The comment, not blank, at most 64,000 characters (VALIDATION_FAILED)."),
        ],
        mention_user_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(
                description="Users to notify, at most 50; each must have access to the conversation's app."
            ),
        ] = None,
    ) -> Message:
        return Message.of(await comments.add_comment(viewer_of(info), conversation_id, text, mention_user_ids))
