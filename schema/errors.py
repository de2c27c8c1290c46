"""Every error a client can act on carries `extensions.code`; anything unexpected is masked to INTERNAL."""

from __future__ import annotations

import logging

from graphql import GraphQLError, GraphQLSyntaxError

from models.db import refused_value
from resolvers.errors import InboxError, QueryTooComplex, ValidationFailed

log = logging.getLogger("switchboard.graphql")


def _over_token_limit(error: GraphQLError) -> bool:
    # The one limit we cannot give a code where it is raised: graphql-core's parser stops at
    # `max_tokens` (MaxTokensLimiter). Depth, aliases and cost (schema/limits.py) carry theirs.
    return isinstance(error, GraphQLSyntaxError) and "Document contains more than" in error.message


def classify(error: GraphQLError, request_id: str) -> None:
    """Gives `error` its code in place (Strawberry formats it afterwards)."""
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    extensions = dict(error.extensions or {})
    if isinstance(original, InboxError):
        extensions.update(original.extensions)
        extensions["code"] = original.code
        error.message = original.message
    elif original is None or isinstance(original, GraphQLError):
        # (graphql-core wraps a bad variable, e.g. an unknown enum value, in a second GraphQLError.)
        # A rule of ours names its code (limits: QUERY_TOO_COMPLEX; introspection in production: UNAUTHENTICATED).
        extensions.setdefault("code", QueryTooComplex.code if _over_token_limit(error) else ValidationFailed.code)
    elif refused_value(original):
        # A value the database cannot store (too long, not valid text): the input's fault, not ours.
        log.warning("value refused by the database [request %s] at %s: %s", request_id, error.path, str(original)[:200])
        error.message = "A value cannot be stored: it is too long or not valid text."
        extensions = {"code": ValidationFailed.code}
    else:
        log.error("unexpected error [request %s] at %s", request_id, error.path, exc_info=original)
        error.message = f"Internal error (request id {request_id})."
        extensions = {"code": "INTERNAL", "requestId": request_id}
    error.extensions = extensions
