from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import replies
from schema.context import viewer_of
from schema.types import ConversationId, Message, UploadedFile
from schema.uploads import Upload, upload_file


@strawberry.type
class RepliesMutation:
    @strawberry.mutation(
        description="R-REPLY. The message is stored QUEUED, then handed to the provider: returned SENT when "
        "accepted, QUEUED when the provider could not be reached (retried). A refusal is the error "
        "PROVIDER_ERROR with `providerCode` and `messageId` (the message is FAILED with that errorCode). "
        "REPLY_WINDOW_CLOSED when the provider's 24-hour window is closed: nothing is stored or sent. "
        "CONFLICT (reason NEW_ACTIVITY) over a newer message or comment than expectedLastMessageId (R-PRESENCE)."
    )
    async def send_message(
        self,
        info: Info,
        conversation_id: ConversationId,
        text: Annotated[
            str | None,
            strawberry.argument(
                description="The reply, not blank; at most 1,600 characters on WhatsApp, 2,000 on Messenger and "
                "64,000 on API apps (VALIDATION_FAILED). Optional when files are sent."
            ),
        ] = None,
        attachment_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(
                description="R-MEDIA: uploads (uploadFile) of your account, each sent once: NOT_FOUND for an unknown "
                "one, VALIDATION_FAILED (reason UPLOAD_ALREADY_USED, FILE_TYPE_NOT_ALLOWED, FILE_TOO_LARGE, "
                "TOO_MANY_ATTACHMENTS) otherwise. WhatsApp and Messenger carry one file per message."
            ),
        ] = None,
        expected_last_message_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="CONFLICT if a message or comment newer than this one exists (R-PRESENCE)"),
        ] = None,
    ) -> Message:
        return Message.of(
            await replies.send_message(
                viewer_of(info), conversation_id, text, attachment_ids or (), expected_last_message_id
            )
        )

    @strawberry.mutation(
        description="R-MEDIA: one file for a later sendMessage, sent as a GraphQL multipart request "
        "(graphql-multipart-request-spec) with `Authorization: Bearer <token>`; VALIDATION_FAILED "
        "(extensions.reason FILE_EMPTY, FILE_TYPE_NOT_ALLOWED, FILE_TOO_LARGE) for a type or size no "
        "provider takes. Removed after a day unless sent."
    )
    async def upload_file(
        self,
        info: Info,
        file: Annotated[
            Upload, strawberry.argument(description="The file part named in the request's `map` (one file).")
        ],
    ) -> UploadedFile:
        return UploadedFile.of(await upload_file(viewer_of(info), file))
