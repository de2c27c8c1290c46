"""Every error a client can act on carries `extensions.code`; anything unexpected is masked to INTERNAL."""

from __future__ import annotations

import logging

from graphql import GraphQLError

from models.db import refused_value
from resolvers.errors import InboxError, QueryTooComplex, ValidationFailed

log = logging.getLogger("switchboard.graphql")



def _is_too_complex(message: str) -> bool:
    return "exceeds maximum operation depth" in message or "aliases found" in message or (
        "Document contains more than" in message and "tokens" in message
    )


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
        # A rule of ours may name its code (introspection in production: UNAUTHENTICATED).
        extensions.setdefault("code", QueryTooComplex.code if _is_too_complex(error.message) else ValidationFailed.code)
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
