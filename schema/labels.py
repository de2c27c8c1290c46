from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import labels
from resolvers.ids import to_api_id
from schema.context import viewer_of
from schema.types import Conversation, ConversationId, Label


@strawberry.type
class LabelsQuery:
    @strawberry.field(description="The account's labels, by name (R-LABEL).")
    async def labels(self, info: Info) -> list[Label]:
        return [Label.of(row) for row in await labels.labels(viewer_of(info))]


@strawberry.type
class LabelsMutation:
    @strawberry.mutation(
        description="ADMIN (R-LABEL, R-SETTINGS): a new label of the account. VALIDATION_FAILED for a blank or taken "
        "name (whatever its case) or a color that is not #RRGGBB."
    )
    async def create_label(
        self,
        info: Info,
        name: Annotated[str, strawberry.argument(description="1 to 50 characters, unique in the account.")],
        color: Annotated[str, strawberry.argument(description="#RRGGBB")],
    ) -> Label:
        return Label.of(await labels.create_label(viewer_of(info), name, color))

    @strawberry.mutation(
        description="ADMIN (R-LABEL): deletes the label; it leaves every conversation it was on (each gets a "
        "CONVERSATION_LABELED event). Returns the deleted label's id."
    )
    async def delete_label(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The label's id.")]
    ) -> strawberry.ID:
        return strawberry.ID(to_api_id("Label", await labels.delete_label(viewer_of(info), id)))

    @strawberry.mutation(
        description="R-LABEL: sets the conversation's whole list of labels (empty: none), anyone with access may; at "
        "most 20. A change writes a CONVERSATION_LABELED event; the conversation does not move."
    )
    async def set_conversation_labels(
        self,
        info: Info,
        id: ConversationId,
        label_ids: Annotated[
            list[strawberry.ID], strawberry.argument(description="The account's labels; NOT_FOUND for any other id.")
        ],
    ) -> Conversation:
        return Conversation.of(await labels.set_conversation_labels(viewer_of(info), id, label_ids))
