"""The search results (R-SEARCH): hits of conversations, each with its best message and highlight."""

from __future__ import annotations

import strawberry

from resolvers.search import Hit, SearchPage
from schema.types.common import PageInfo
from schema.types.inbox import Conversation, Message


@strawberry.type(description="A conversation that matches a search, with what matched (R-SEARCH).")
class ConversationSearchHit:
    conversation: Conversation = strawberry.field(description="The conversation.")
    message: Message | None = strawberry.field(description="The best matching message, if the match is in a message.")
    highlight: str | None = strawberry.field(
        description="The matching text with matches wrapped in <mark>...</mark>, the rest HTML-escaped."
    )

    @classmethod
    def of(cls, hit: Hit) -> ConversationSearchHit:
        return cls(
            conversation=Conversation.of(hit.conversation),
            message=Message.of(hit.message) if hit.message is not None else None,
            highlight=hit.highlight,
        )


@strawberry.type(description="A search hit and its place in the results.")
class ConversationSearchEdge:
    cursor: str = strawberry.field(description="Pass it as `after` to continue after this hit.")
    node: ConversationSearchHit = strawberry.field(description="The hit.")


@strawberry.type(description="A page of search hits, best match first (R-SEARCH).")
class ConversationSearchConnection:
    edges: list[ConversationSearchEdge] = strawberry.field(description="This page's hits, best first.")
    page_info: PageInfo = strawberry.field(description="Cursors, and whether more follow.")

    @classmethod
    def of(cls, page: SearchPage) -> ConversationSearchConnection:
        edges = [ConversationSearchEdge(cursor=hit.cursor, node=ConversationSearchHit.of(hit)) for hit in page.rows]
        page_info = PageInfo.of(edges, has_next=page.has_next, has_previous=page.has_previous)
        return cls(edges=edges, page_info=page_info)
