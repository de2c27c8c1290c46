from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import replies
from schema.context import viewer_of
from schema.types import ConversationId, Message


@strawberry.type
class RepliesMutation:
    @strawberry.mutation(
        description="R-REPLY. The message is stored QUEUED, then handed to the provider: returned SENT when "
        "accepted, QUEUED when the provider could not be reached (retried). A refusal is the error "
        "PROVIDER_ERROR with `providerCode` and `messageId` (the message is FAILED with that errorCode). "
        "REPLY_WINDOW_CLOSED when the provider's 24-hour window is closed: nothing is stored or sent."
    )
    async def send_message(
        self,
        info: Info,
        conversation_id: ConversationId,
        text: Annotated[
            str,
            strawberry.argument(
                description="The reply, not blank; at most 1,600 characters on WhatsApp, 2,000 on Messenger and "
                "64,000 on API apps (VALIDATION_FAILED)."
            ),
        ],
    ) -> Message:
        return Message.of(await replies.send_message(viewer_of(info), conversation_id, text))
