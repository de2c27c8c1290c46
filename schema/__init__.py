"""The assembled GraphQL schema: one Query, Mutation and Subscription merged from each concern."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.apps import AppsMutation, AppsQuery
from schema.crm import CrmMutation, CrmQuery
from schema.errors import classify
from schema.inbox import InboxMutation, InboxQuery
from schema.introspection import IntrospectionGuard
from schema.limits import QueryCost, limits_rule
from schema.notifications import NotificationsMutation, NotificationsQuery, NotificationsSubscription
from schema.realtime import RealtimeQuery, RealtimeSubscription
from schema.replies import RepliesMutation
from schema.team import TeamMutation, TeamQuery
from settings import get_settings

Query = merge_types("Query", (TeamQuery, AppsQuery, InboxQuery, NotificationsQuery, CrmQuery, RealtimeQuery))
Mutation = merge_types("Mutation", (TeamMutation, InboxMutation, AppsMutation, NotificationsMutation, CrmMutation, RepliesMutation))
SUBSCRIPTIONS: tuple[type, ...] = (RealtimeSubscription, NotificationsSubscription)


class SwitchboardSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        context: Any = execution_context.context if execution_context else None
        request_id = getattr(context, "request_id", "") or "-"
        for error in errors:
            classify(error, request_id)


def build_schema() -> SwitchboardSchema:
    settings = get_settings()
    # The rule class is made once: ValidationCache keys on it, and a new class per request would
    # make every lookup a miss.
    limits = [limits_rule(settings.max_query_depth, settings.max_query_aliases)]
    return SwitchboardSchema(
        query=Query,
        mutation=Mutation,
        subscription=merge_types("Subscription", SUBSCRIPTIONS) if SUBSCRIPTIONS else None,
        extensions=[
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            lambda: QueryCost(settings.max_query_nodes),  # after ValidationCache: costs only valid documents
            lambda: AddValidationRules(limits),
            lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
            IntrospectionGuard,
        ],
    )
