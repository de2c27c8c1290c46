"""The query planner: every document the schema accepts is compiled once into a plan and run
without graphql-core's per-field machinery.

It plugs in where Strawberry calls graphql-core's `execute` (`SwitchboardSchema`), so parsing,
validation (the schema's rules and the extensions' rules: limits, cost, introspection guard, their
caches), error classification and the transports stay Strawberry's. A document it cannot compile is
executed by graphql-core (the reference executor), logged once with the reason and counted.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, OrderedDict
from collections.abc import Awaitable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLSchema,
    OperationDefinitionNode,
    execute,
)
from graphql.execution.executor import Executor

from schema.planner.compile import Compiler, OperationPlan, Unplannable, directive_variables
from schema.planner.run import Run

log = logging.getLogger("switchboard.planner")

EXECUTORS = ("planner", "reference")

# Set (in a task) to serve that task's documents by the reference executor whatever the setting:
# the differential test runs each document through both executors of one server this way.
reference_only: ContextVar[bool] = ContextVar("reference_only", default=False)


@dataclass
class _Document:
    directive_variables: tuple[str, ...]
    plans: dict[tuple[Any, ...], OperationPlan | Unplannable] = field(default_factory=dict)


@dataclass
class PlannerStats:
    """What a test (or an operator, through the log) can read: compilations and fallbacks."""

    compiled: int = 0
    executed: int = 0
    fallbacks: Counter[str] = field(default_factory=Counter)  # reason -> requests served by the reference executor
    fallback_documents: dict[str, str] = field(default_factory=dict)  # sha256 -> reason (logged once each)


class Planner:
    """Plans kept by the sha256 of the document's text, at most `cache_size` documents (least recently used go)."""

    def __init__(self, strawberry_schema: Any, cache_size: int) -> None:
        self.strawberry_schema = strawberry_schema
        self.cache_size = max(1, cache_size)
        self.documents: OrderedDict[str, _Document] = OrderedDict()
        self.stats = PlannerStats()

    def execute(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        variable_values: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> ExecutionResult | Awaitable[ExecutionResult]:
        """graphql-core's `execute`, by plan."""
        middleware = kwargs.get("middleware")
        text = document.loc.source.body if document.loc is not None else None
        reason = None
        if (
            args
            or kwargs.get("field_resolver")
            or kwargs.get("type_resolver")
            or kwargs.get("subscribe_field_resolver")
        ):
            reason = "a custom graphql-core field or type resolver"
        elif getattr(middleware, "middlewares", None):
            reason = "a schema extension with a resolve hook"
        if reason is not None or text is None:
            return self._fallback(
                reason or "a document without its source text",
                text or "",
                schema,
                document,
                root_value,
                context_value,
                variable_values,
                operation_name,
                kwargs,
            )
        # Strawberry's executor class builds the resolvers' info (coerced variables, operation extensions).
        build = {name: value for name, value in kwargs.items() if name not in ("executor_class", "middleware")}
        executor_class: type[Executor[Any]] = kwargs.get("executor_class") or Executor
        executor = executor_class.build(
            schema, document, root_value, context_value, variable_values, operation_name, **build
        )
        if isinstance(executor, list):
            return ExecutionResult(None, errors=executor)
        plan = self.plan(text, document, executor)
        if isinstance(plan, Unplannable):
            return self._fallback(
                str(plan), text, schema, document, root_value, context_value, variable_values, operation_name, kwargs
            )
        self.stats.executed += 1
        return Run(plan, executor, self.strawberry_schema).execute()

    def plan(self, text: str, document: DocumentNode, executor: Executor[Any]) -> OperationPlan | Unplannable:
        key = hashlib.sha256(text.encode()).hexdigest()
        entry = self.documents.get(key)
        if entry is None:
            entry = self.documents[key] = _Document(directive_variables(document.definitions))
            while len(self.documents) > self.cache_size:
                self.documents.popitem(last=False)
        else:
            self.documents.move_to_end(key)
        coerced = executor.variable_values.coerced
        operation: OperationDefinitionNode = executor.operation
        plan_key = (
            operation.name.value if operation.name else None,
            *(coerced.get(name) for name in entry.directive_variables),
        )
        plan = entry.plans.get(plan_key)
        if plan is None:
            fragments: dict[str, FragmentDefinitionNode] = executor.fragment_definitions
            directive_values = {name: coerced.get(name) for name in entry.directive_variables}
            try:
                plan = Compiler(executor.schema, self.strawberry_schema, fragments, directive_values).operation(
                    operation
                )
                self.stats.compiled += 1
            except Unplannable as unplannable:
                plan = unplannable
            except RecursionError:
                plan = Unplannable("selections nested too deeply")
            entry.plans[plan_key] = plan
        return plan

    def _fallback(
        self,
        reason: str,
        text: str,
        schema: GraphQLSchema,
        document: DocumentNode,
        root_value: Any,
        context_value: Any,
        variable_values: dict[str, Any] | None,
        operation_name: str | None,
        kwargs: dict[str, Any],
    ) -> ExecutionResult | Awaitable[ExecutionResult]:
        self.stats.fallbacks[reason] += 1
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest not in self.stats.fallback_documents:
            self.stats.fallback_documents[digest] = reason
            if len(self.stats.fallback_documents) > self.cache_size:  # bounded like the plans
                del self.stats.fallback_documents[next(iter(self.stats.fallback_documents))]
            log.warning("document %s served by the reference executor: %s", digest[:12], reason)
        return execute(schema, document, root_value, context_value, variable_values, operation_name, **kwargs)
