"""Apollo's automatic persisted queries: a client sends `extensions.persistedQuery {version: 1,
sha256Hash}` instead of the document. A known hash runs; an unknown one is answered with
PERSISTED_QUERY_NOT_FOUND and the client sends the text with the hash, which is checked and kept.
Each process keeps its own bounded store: a miss on another process only costs one resend."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

from graphql import GraphQLError

from resolvers.errors import PersistedQueryNotFound, ValidationFailed


class PersistedQueries:
    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self.documents: OrderedDict[str, str] = OrderedDict()

    def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> str | GraphQLError | None:
        """The document to run (the request's own when it persists nothing), or the error to answer."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            return query
        digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if not isinstance(persisted, dict) or persisted.get("version") != 1 or not isinstance(digest, str):
            return _error(ValidationFailed("persistedQuery needs version 1 and a sha256Hash."))
        digest = digest.lower()
        if query is None:
            known = self.documents.get(digest)
            if known is None:
                return _error(PersistedQueryNotFound("PersistedQueryNotFound"))
            self.documents.move_to_end(digest)
            return known
        if hashlib.sha256(query.encode()).hexdigest() != digest:
            return _error(ValidationFailed("provided sha does not match query"))
        self.documents[digest] = query
        self.documents.move_to_end(digest)
        while len(self.documents) > self.size:
            self.documents.popitem(last=False)
        return query


def _error(error: PersistedQueryNotFound | ValidationFailed) -> GraphQLError:
    return GraphQLError(error.message, extensions={"code": error.code})
