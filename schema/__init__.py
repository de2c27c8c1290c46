"""The assembled GraphQL schema: one Query, Mutation and Subscription merged from each concern."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.apps import AppsMutation, AppsQuery
from schema.canned import CannedMutation, CannedQuery
from schema.comments import CommentsMutation
from schema.crm import CrmMutation, CrmQuery
from schema.errors import classify
from schema.inbox import InboxMutation, InboxQuery
from schema.inputs import CleanInputs
from schema.introspection import IntrospectionGuard
from schema.labels import LabelsMutation, LabelsQuery
from schema.limits import CostCache, QueryCost, limits_rule
from schema.loaders import FreshLoaders
from schema.notifications import NotificationsMutation, NotificationsQuery, NotificationsSubscription
from schema.planner import EXECUTORS, Planner, reference_only
from schema.presence import PresenceMutation, PresenceSubscription
from schema.realtime import RealtimeQuery, RealtimeSubscription
from schema.replies import RepliesMutation
from schema.signin import SignInMutation, SignInQuery
from schema.suggestions import HideSuggestions, HideSuggestionsExecutor
from schema.team import TeamMutation, TeamQuery
from schema.templates import TemplatesMutation
from schema.transport import SubscriptionsOverWebSocket
from settings import get_settings


def _described(root: type, description: str) -> type:
    """A root merged by `merge_types` (which takes no description), described for GraphiQL's docs."""
    root.__strawberry_definition__.description = description  # type: ignore[attr-defined]
    return root


Query = merge_types(
    "Query",
    (
        TeamQuery,
        AppsQuery,
        InboxQuery,
        NotificationsQuery,
        CrmQuery,
        RealtimeQuery,
        SignInQuery,
        LabelsQuery,
        CannedQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        TeamMutation,
        InboxMutation,
        AppsMutation,
        NotificationsMutation,
        CrmMutation,
        RepliesMutation,
        TemplatesMutation,
        SignInMutation,
        CommentsMutation,
        LabelsMutation,
        CannedMutation,
        PresenceMutation,
    ),
)
for _field in Mutation.__strawberry_definition__.fields:  # type: ignore[attr-defined]
    _field.extensions.append(FreshLoaders())
SUBSCRIPTIONS: tuple[type, ...] = (RealtimeSubscription, NotificationsSubscription, PresenceSubscription)
_described(
    Query,
    "Reads. Every field needs `Authorization: Bearer <token>` (UNAUTHENTICATED otherwise) and sees only the viewer's "
    "account and the conversations of the apps shared with them.",
)
_described(
    Mutation,
    "Changes, each in one transaction: refused ones change nothing. Errors carry `extensions.code`; whatever the viewer "
    "may not see is NOT_FOUND.",
)
SUBSCRIPTION_DESCRIPTION = (
    'Real time, over a WebSocket at /graphql (graphql-transport-ws) with `{"authorization": "Bearer <token>"}` in '
    "connection_init; without a valid token the socket is closed with 4403. A subscriber that falls too far behind is "
    "ended with SUBSCRIBER_TOO_SLOW: subscribe again from the last cursor."
)


class SwitchboardSchema(strawberry.Schema):
    planner: Planner | None = None  # None: the reference executor (graphql-core) runs every document

    def use_executor(self, executor: str, plan_cache_size: int) -> None:
        if executor not in EXECUTORS:
            raise ValueError(f"SWITCHBOARD_EXECUTOR must be one of {', '.join(EXECUTORS)}, not {executor!r}")
        self.planner = Planner(self, plan_cache_size) if executor == "planner" else None

    def _get_execute_function(self) -> Callable[..., Any]:
        if self.planner is None or reference_only.get() or self.config.enable_experimental_incremental_execution:
            return super()._get_execute_function()
        return self.planner.execute

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        context: Any = execution_context.context if execution_context else None
        request_id = getattr(context, "request_id", "") or "-"
        for error in errors:
            classify(error, request_id)


def build_schema() -> SwitchboardSchema:
    settings = get_settings()
    # The rule class is made once: ValidationCache keys on it, and a new class per request would
    # make every lookup a miss.
    limits: list[type[ASTValidationRule]] = [limits_rule(settings.max_query_depth, settings.max_query_aliases)]
    quiet = [lambda: AddValidationRules([HideSuggestions])] if settings.production else []
    costs = CostCache(settings.plan_cache_size)  # shared by the requests, like the plans
    schema = SwitchboardSchema(
        query=Query,
        mutation=Mutation,
        subscription=(
            _described(merge_types("Subscription", SUBSCRIPTIONS), SUBSCRIPTION_DESCRIPTION) if SUBSCRIPTIONS else None
        ),
        extensions=[
            SubscriptionsOverWebSocket,
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            lambda: QueryCost(settings.max_query_nodes, costs),  # after ValidationCache: costs only valid documents
            lambda: AddValidationRules(limits),
            lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
            IntrospectionGuard,
            CleanInputs,
            *quiet,
        ],
        execution_context_class=HideSuggestionsExecutor if settings.production else None,
    )
    schema.use_executor(settings.executor, settings.plan_cache_size)
    return schema
