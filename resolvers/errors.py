"""The errors a client can act on. Each carries one `extensions.code` of docs/DESIGN.md §4."""

from __future__ import annotations

from typing import Any


class InboxError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class Unauthenticated(InboxError):
    code = "UNAUTHENTICATED"


class Forbidden(InboxError):
    code = "FORBIDDEN"


class NotFound(InboxError):
    code = "NOT_FOUND"


class ValidationFailed(InboxError):
    code = "VALIDATION_FAILED"


class AssigneeUnavailable(InboxError):
    code = "ASSIGNEE_UNAVAILABLE"


class AssigneeNoAccess(InboxError):
    code = "ASSIGNEE_NO_ACCESS"


class Conflict(InboxError):
    code = "CONFLICT"


class ReplyWindowClosed(InboxError):
    code = "REPLY_WINDOW_CLOSED"


class ProviderError(InboxError):
    code = "PROVIDER_ERROR"


class SubscriberTooSlow(InboxError):
    code = "SUBSCRIBER_TOO_SLOW"


class RateLimited(InboxError):
    code = "RATE_LIMITED"


class QueryTooComplex(InboxError):
    code = "QUERY_TOO_COMPLEX"


class PersistedQueryNotFound(InboxError):
    code = "PERSISTED_QUERY_NOT_FOUND"


class MentionNoAccess(InboxError):
    code = "MENTION_NO_ACCESS"


class TemplateNotApproved(InboxError):
    code = "TEMPLATE_NOT_APPROVED"
