"""Running a plan: level by level, each list level's resolvers called for every row before anything
is awaited (so the request's loaders batch a whole level into one query), values written straight
into the result as JSON-ready Python values, errors located and null propagated as graphql-core does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any

from graphql import ExecutionResult, GraphQLError, GraphQLResolveInfo, is_object_type, located_error
from graphql.execution.executor import Executor, default_type_resolver
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, inspect, is_iterable
from strawberry.types.arguments import convert_arguments

from schema.loaders import Loading
from schema.planner.compile import (
    ABSTRACT,
    ATTRIBUTE,
    GRAPHQL,
    LEAF,
    LIST,
    OBJECT,
    TYPENAME,
    FieldPlan,
    ObjectPlan,
    OperationPlan,
    Output,
)
from schema.planner.settle import settle

# Values a level writes between two yields to the event loop: a page (50 rows of a dozen fields) never
# yields; a level of thousands of rows (a heavy but legal document) lets other requests and other
# groups' renders run between its slices, and a render budget end it (issue 10 item 3).
VALUES_PER_SLICE = 4096

# Where a composite value sits: (holder of its container, container, key, whether null may stand there).
Holder = tuple[Any, Any, Any, bool] | None
Row = tuple[Any, dict[str, Any], Holder]


class _NulledRoot(Exception):
    pass


class Run:
    """One execution of a plan for one request."""

    def __init__(self, plan: OperationPlan, executor: Executor[Any], strawberry_schema: Any) -> None:
        self.plan = plan
        self.executor = executor
        self.strawberry_schema = strawberry_schema
        self.is_awaitable = executor.is_awaitable
        self.errors: list[GraphQLError] = []
        self.nulled: set[tuple[Any, ...]] = set()
        self.data_nulled = False
        self._arguments: dict[int, Any] = {}
        self._raw_infos: dict[int, GraphQLResolveInfo[Any]] = {}
        self._infos: dict[int, Any] = {}
        self._bound: dict[int, Callable[[Any], Any]] = {}

    async def execute(self) -> ExecutionResult:
        root = self.plan.root
        data = dict.fromkeys(root.keys)
        rows: list[Row] = [(self.executor.root_value, data, None)]
        if self.plan.serial:
            for field in root.fields:  # mutations one after another, each with its whole payload
                await self._level([field], rows)
        else:
            await self._level(root.fields, rows)
        return ExecutionResult(None if self.data_nulled else data, self.errors or None)

    # ---------------------------------------------------------------- levels

    async def _level(self, fields: list[FieldPlan], rows: list[Row]) -> None:
        pending: list[Any] = []
        # Each awaited value in field order: a Loading with its loader's future, or (None, None) for
        # the next of `pending`'s outcomes.
        waiting: list[tuple[FieldPlan, dict[str, Any], Holder, Loading[Any] | None, Any]] = []
        children: dict[int, tuple[ObjectPlan, list[Row]]] = {}
        is_awaitable = self.is_awaitable
        complete = self._complete
        resolve = self._resolve
        # What each field's value needs, read once per level rather than once per row.
        specs = [
            (field, field.mode, field.key, field.attribute, field.output, field.output and field.output.plain)
            for field in fields  # __typename has no output
        ]
        written = 0
        for source, out, holder in rows:
            written += len(specs)
            if written > VALUES_PER_SLICE:
                written = 0
                await asyncio.sleep(0)
            for field, mode, key, attribute, output, plain in specs:
                try:
                    if mode is ATTRIBUTE:
                        value = getattr(source, attribute)
                        if plain is not None and type(value) is plain:  # most leaves: written as they are
                            out[key] = value
                            continue
                        fast = output.fast  # type: ignore[union-attr]
                        if fast is not None and fast(value):
                            out[key] = value
                            continue
                    elif mode is TYPENAME:
                        out[key] = field.typename
                        continue
                    else:
                        value = resolve(field, source)
                        if type(value) is Loading:  # its load starts now; no coroutine for it
                            waiting.append((field, out, holder, value, value.loader.load(value.key)))
                            continue
                        if is_awaitable(value):
                            pending.append(value)
                            waiting.append((field, out, holder, None, None))
                            continue
                except Exception as error:
                    self._error(error, field, out, key, holder, output.nullable)  # type: ignore[union-attr]
                    continue
                if value is not None and output.kind is OBJECT:  # type: ignore[union-attr]
                    # `_complete`'s object case, inline: the one for every row of a page
                    plan: ObjectPlan = output.object  # type: ignore[union-attr,assignment]
                    child = out[key] = dict.fromkeys(plan.keys)
                    entry = children.get(id(plan))
                    if entry is None:
                        entry = children[id(plan)] = (plan, [])
                    entry[1].append((value, child, (holder, out, key, output.nullable)))  # type: ignore[union-attr]
                    continue
                if value is not None and output.kind is LEAF and output.coerce is not None:  # type: ignore[union-attr]
                    # `_complete`'s leaf case, inline (enums, dates); a refusal is reported by `_complete`
                    try:
                        coerced = output.coerce(value)  # type: ignore[union-attr]
                    except Exception:
                        coerced = None
                    if coerced is not None and coerced is not Undefined:
                        out[key] = coerced
                        continue
                complete(output, value, out, key, holder, field, children)  # type: ignore[arg-type]
        if waiting:
            outcomes = iter(await self._settled(pending))
            for field, out, holder, loading, future in waiting:
                if loading is None:
                    value = next(outcomes)
                else:
                    # The loaders batch a level's keys into one statement: once the first future is
                    # done the others mostly are too, and awaiting a done future does not suspend.
                    try:
                        value = loading.finish(await future)
                    except Exception as error:
                        value = error
                if isinstance(value, BaseException):
                    if not isinstance(value, Exception):
                        raise value
                    self._error(value, field, out, field.key, holder, field.output.nullable)  # type: ignore[union-attr]
                else:
                    complete(field.output, value, out, field.key, holder, field, children)  # type: ignore[arg-type]
        if not children:
            return
        if len(children) == 1:
            ((plan, next_rows),) = children.values()
            await self._level(plan.fields, next_rows)
        else:
            for outcome in await settle([self._level(plan.fields, next_rows) for plan, next_rows in children.values()]):
                if isinstance(outcome, BaseException):  # a field's error never gets here: only what stops the request
                    raise outcome

    async def _settled(self, pending: list[Any]) -> list[Any]:
        if not pending:
            return []
        if len(pending) == 1:
            try:
                return [await pending[0]]
            except Exception as error:
                return [error]
        return await settle(pending)

    # ---------------------------------------------------------------- values

    def _complete(
        self,
        output: Output,
        value: Any,
        container: Any,
        key: Any,
        holder: Holder,
        field: FieldPlan,
        children: dict[int, tuple[ObjectPlan, list[Row]]],
    ) -> None:
        if value is None or value is Undefined:
            if not output.nullable:
                message = f"Cannot return null for non-nullable field {field.parent_type.name}.{field.name}."
                self._error(TypeError(message), field, container, key, holder, False)
            return
        kind = output.kind
        if kind is LEAF:
            fast = output.fast
            if fast is not None and fast(value):
                container[key] = value
                return
            try:
                coerced = output.coerce(value)  # type: ignore[misc]
                if coerced is None or coerced is Undefined:
                    raise TypeError(
                        f"Expected `{inspect(output.type)}.coerce_output_value({inspect(value)})` to return"
                        f" non-nullable value, returned: {inspect(coerced)}"
                    )
            except Exception as error:
                self._error(error, field, container, key, holder, output.nullable)
                return
            container[key] = coerced
        elif kind is OBJECT:
            plan = output.object
            assert plan is not None  # an OBJECT output always has its plan (Compiler._output)
            _enqueue(children, plan, value, (holder, container, key, output.nullable))
        elif kind is LIST:
            if not is_iterable(value):
                message = f"Expected Iterable, but did not find one for field '{field.parent_type.name}.{field.name}'."
                self._error(GraphQLError(message), field, container, key, holder, output.nullable)
                return
            items = list(value)
            completed: list[Any] = [None] * len(items)
            container[key] = completed
            inner = (holder, container, key, output.nullable)
            item = output.item
            for index, element in enumerate(items):
                self._complete(item, element, completed, index, inner, field, children)  # type: ignore[arg-type]
        elif kind is ABSTRACT:
            try:
                plan = self._runtime_plan(output, value, field)
            except Exception as error:
                self._error(error, field, container, key, holder, output.nullable)
                return
            _enqueue(children, plan, value, (holder, container, key, output.nullable))

    def _runtime_plan(self, output: Output, value: Any, field: FieldPlan) -> ObjectPlan:
        plan = output.abstract
        assert plan is not None  # an ABSTRACT output always has its plan (Compiler._output)
        abstract = plan.type
        resolve_type = abstract.resolve_type or default_type_resolver
        name = resolve_type(value, self._raw_info(field), abstract)
        if self.is_awaitable(name):
            close = getattr(name, "close", None)
            if close is not None:
                close()
            raise GraphQLError(
                f"Abstract type '{abstract}' resolved its runtime type asynchronously.", field.field_nodes
            )
        schema = self.executor.schema
        runtime = schema.get_type(name) if isinstance(name, str) else None
        if runtime is None or not is_object_type(runtime) or not schema.is_sub_type(abstract, runtime):
            raise GraphQLError(
                f"Abstract type '{abstract}' must resolve to an Object type at runtime for field"
                f" '{field.parent_type.name}.{field.name}', received '{inspect(name)}'.",
                field.field_nodes,
            )
        return plan.plan_for(runtime)

    # ---------------------------------------------------------------- resolvers

    def _resolve(self, field: FieldPlan, source: Any) -> Any:
        if field.mode is GRAPHQL:
            arguments = self._arguments_of(field) if field.has_args else {}
            return field.call(source, self._raw_info(field), **arguments)  # type: ignore[misc]
        bound = self._bound.get(field.index)
        if bound is None:
            bound = self._bound[field.index] = self._bind(field)
        return bound(source)

    def _bind(self, field: FieldPlan) -> Callable[[Any], Any]:
        """The field's resolver as a function of the source alone, its arguments and info bound
        once per request (a field of every row of a page is called with the same ones)."""
        try:
            kwargs = dict(self._arguments_of(field)) if field.has_args else {}
        except Exception as error:
            refusal = error

            def refuse(source: Any) -> Any:  # each row reports the error at its own path
                raise refusal

            return refuse
        if field.info_name is not None:
            kwargs[field.info_name] = self._info(field)
        call: Callable[..., Any] = field.call  # type: ignore[assignment]
        if field.source_names:
            names = field.source_names
            wants_self = field.wants_self

            def with_source(source: Any) -> Any:
                given = {**kwargs, **dict.fromkeys(names, source)}
                return call(source, **given) if wants_self else call(**given)

            return with_source
        if field.wants_self:
            return partial(call, **kwargs)
        return lambda source: call(**kwargs)

    def _arguments_of(self, field: FieldPlan) -> dict[str, Any]:
        """The resolver's keyword arguments, once per request: coerced by graphql-core, then converted by
        Strawberry unless the resolver takes graphql-core's (a failure is kept and raised again)."""
        cached = self._arguments.get(field.index)
        if cached is None:
            try:
                cached = get_argument_values(field.field_def, field.field_nodes[0], self.executor.variable_values)
                if field.mode is not GRAPHQL:
                    cached = self._converted(field, cached)
            except Exception as error:
                cached = error
            self._arguments[field.index] = cached
        if isinstance(cached, Exception):
            raise cached
        return cached

    def _converted(self, field: FieldPlan, raw: dict[str, Any]) -> dict[str, Any]:
        strawberry_field = field.strawberry_field
        converter = self.strawberry_schema.schema_converter
        converted = convert_arguments(
            raw,
            strawberry_field.arguments,  # type: ignore[union-attr]
            scalar_registry=converter.scalar_registry,
            config=self.strawberry_schema.config,
            info=self._info(field),
        )
        for extension in strawberry_field.extensions:  # type: ignore[union-attr]
            converted = extension.map_arguments(converted)
        return converted

    def _raw_info(self, field: FieldPlan) -> GraphQLResolveInfo[Any]:
        """graphql-core's info for the field, made once per request (its path leaves list positions out)."""
        info = self._raw_infos.get(field.index)
        if info is None:
            path = None
            for key in field.path:
                path = Path(path, key, None)
            info = self._raw_infos[field.index] = self.executor.build_resolve_info(
                field.field_def,
                field.field_nodes,
                field.parent_type,
                path,  # type: ignore[arg-type]
            )
        return info

    def _info(self, field: FieldPlan) -> Any:
        info = self._infos.get(field.index)
        if info is None:
            info = self._infos[field.index] = self.strawberry_schema.config.info_class(
                _raw_info=self._raw_info(field), _field=field.strawberry_field
            )
        return info

    # ---------------------------------------------------------------- errors

    def _error(
        self, raw: Exception, field: FieldPlan, container: Any, key: Any, holder: Holder, nullable: bool
    ) -> None:
        """A field error at container[key]: recorded with its path (unless an ancestor was already
        nulled), and null written at the nearest position that may hold it."""
        path = [*_path(holder), key]
        error = located_error(raw, field.field_nodes, path)
        if not self._under_nulled(path):
            self.errors.append(error)
        if nullable:
            container[key] = None
            self.nulled.add(tuple(path))
            return
        while holder is not None and not holder[3]:
            holder = holder[0]
        if holder is None:
            self.data_nulled = True
            self.nulled.add(())
            return
        holder[1][holder[2]] = None
        self.nulled.add((*_path(holder[0]), holder[2]))

    def _under_nulled(self, path: list[Any]) -> bool:
        if not self.nulled:
            return False
        return any(tuple(path[:end]) in self.nulled for end in range(len(path) + 1))


def _path(holder: Holder) -> list[Any]:
    keys: list[Any] = []
    while holder is not None:
        keys.append(holder[2])
        holder = holder[0]
    keys.reverse()
    return keys


def _enqueue(children: dict[int, tuple[ObjectPlan, list[Row]]], plan: ObjectPlan, value: Any, position: Holder) -> None:
    """Places an empty object for `value` at `position` and queues it for its plan's next level (one batch per plan)."""
    assert position is not None
    _, container, key, _ = position
    child = dict.fromkeys(plan.keys)
    container[key] = child
    entry = children.get(id(plan))
    if entry is None:
        entry = children[id(plan)] = (plan, [])
    entry[1].append((value, child, position))
