"""Compiling one operation of a validated document into a plan, once.

A plan holds, for each field of each selection: its output key (alias), how its value is got (an
attribute read, the Strawberry resolver called directly, or a graphql-core resolver for the fields
graphql-core defines itself, e.g. introspection), how the value is written (scalar serialiser,
enum, list, object, abstract type) and whether null may stand there. Fragments, inline fragments
and `@skip`/`@include` are resolved while compiling: the values of the variables those directives
read are part of the plan's key. Nothing here knows a type or module of the schema by name; it walks
graphql-core's `GraphQLSchema` and the `StrawberryField` each field carries.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial, reduce
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    is_abstract_type,
    type_from_ast,
)
from graphql.execution.executor import default_field_resolver
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef
from strawberry.extensions.field_extension import build_field_extension_resolvers
from strawberry.types.field import StrawberryField

STRAWBERRY_FIELD = "strawberry-definition"  # graphql-core field -> StrawberryField (Strawberry's backref)

# How a field's value is got.
TYPENAME, ATTRIBUTE, RESOLVER, GRAPHQL = range(4)
# How a value is written.
LEAF, OBJECT, ABSTRACT, LIST = range(4)

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


class Unplannable(Exception):
    """The planner cannot compile this document; the reference executor serves it."""


class Output:
    """How a value of one GraphQL type is written at one position."""

    __slots__ = ("abstract", "coerce", "fast", "item", "kind", "nullable", "object", "plain", "type")

    def __init__(self, kind: int, nullable: bool, type_: GraphQLOutputType) -> None:
        self.kind = kind
        self.nullable = nullable
        self.type = type_
        self.coerce: Callable[[Any], Any] | None = None
        self.fast: Callable[[Any], bool] | None = None  # a value it accepts as it is
        self.plain: type | None = None  # every value of exactly this type is accepted as it is (`fast` without a call)
        self.item: Output | None = None
        self.object: ObjectPlan | None = None
        self.abstract: AbstractPlan | None = None


class FieldPlan:
    """One output key of one selection: where its value comes from and how it is written."""

    __slots__ = (
        "attribute",
        "call",
        "field_def",
        "field_nodes",
        "has_args",
        "index",
        "info_name",
        "key",
        "mode",
        "name",
        "output",
        "parent_type",
        "path",
        "source_names",
        "strawberry_field",
        "typename",
        "wants_self",
    )

    def __init__(
        self, key: str, name: str, parent_type: GraphQLObjectType, field_nodes: list[FieldNode], field_def: GraphQLField
    ) -> None:
        self.key = key
        self.name = name
        self.parent_type = parent_type
        self.field_nodes = field_nodes
        self.index = 0  # the plan-wide number of this field: per-request state (arguments, info) is kept by it
        self.path: tuple[str, ...] = ()  # response keys from the root, list positions left out
        self.mode = ATTRIBUTE
        self.typename: str | None = None
        self.attribute = ""
        self.call: Callable[..., Any] | None = None
        self.wants_self = False
        self.info_name: str | None = None
        self.source_names: tuple[str, ...] = ()
        self.has_args = False
        self.field_def = field_def
        self.strawberry_field: StrawberryField | None = None
        self.output: Output | None = None


class ObjectPlan:
    """The fields selected on one object type, in the order graphql-core writes them."""

    __slots__ = ("fields", "keys", "type_name")

    def __init__(self, type_name: str, fields: list[FieldPlan]) -> None:
        self.type_name = type_name
        self.fields = fields
        self.keys = tuple(field.key for field in fields)


class AbstractPlan:
    """A selection on an interface or union: one object plan per runtime type, compiled on first use."""

    __slots__ = ("by_type", "compiler", "field_nodes", "path", "type")

    def __init__(
        self, compiler: Compiler, type_: GraphQLAbstractType, field_nodes: list[FieldNode], path: tuple[str, ...]
    ) -> None:
        self.compiler = compiler
        self.type = type_
        self.field_nodes = field_nodes
        self.path = path
        self.by_type: dict[str, ObjectPlan] = {}

    def plan_for(self, runtime_type: GraphQLObjectType) -> ObjectPlan:
        plan = self.by_type.get(runtime_type.name)
        if plan is None:
            plan = self.by_type[runtime_type.name] = self.compiler.object_plan(
                runtime_type, self.field_nodes, self.path
            )
        return plan


class OperationPlan:
    __slots__ = ("field_count", "operation_type", "root", "root_type")

    def __init__(
        self,
        operation_type: OperationType,
        root_type: GraphQLObjectType,
        root: ObjectPlan,
        field_count: Callable[[], int],
    ) -> None:
        self.operation_type = operation_type
        self.root_type = root_type
        self.root = root
        self.field_count = field_count

    @property
    def serial(self) -> bool:
        return self.operation_type is OperationType.MUTATION


def directive_variables(document_definitions: Any) -> tuple[str, ...]:
    """The variables `@skip`/`@include` read anywhere in the document: their values pick the plan."""
    names: list[str] = []

    def walk(selection_set: SelectionSetNode | None) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            for directive in selection.directives or ():
                if directive.name.value in ("skip", "include"):
                    for argument in directive.arguments or ():
                        if isinstance(argument.value, VariableNode) and argument.value.name.value not in names:
                            names.append(argument.value.name.value)
            walk(getattr(selection, "selection_set", None))

    for definition in document_definitions:
        walk(getattr(definition, "selection_set", None))
    return tuple(names)


class Compiler:
    """Compiles one operation; holds what the lazily compiled abstract selections need later."""

    def __init__(
        self,
        schema: GraphQLSchema,
        strawberry_schema: Any,
        fragments: dict[str, FragmentDefinitionNode],
        directive_values: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.strawberry_schema = strawberry_schema
        self.fragments = fragments
        self.directive_values = directive_values
        self.count = 0
        self._outputs: dict[int, Callable[[Any], Any]] = {}

    def operation(self, operation: OperationDefinitionNode) -> OperationPlan:
        root_type = self.schema.get_root_type(operation.operation)
        if root_type is None:
            raise Unplannable(f"the schema has no {operation.operation.value} type")
        root = self.object_plan(root_type, [operation], ())
        return OperationPlan(operation.operation, root_type, root, lambda: self.count)

    # ---------------------------------------------------------------- selections

    def _included(self, node: Any) -> bool:
        for directive in node.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            argument = next((arg for arg in directive.arguments if arg.name.value == "if"), None)
            if argument is None:
                continue
            value = argument.value
            condition = self.directive_values.get(value.name.value) if isinstance(value, VariableNode) else value.value
            if name == "skip" and condition is True:
                return False
            if name == "include" and condition is not True:
                return False
        return True

    def _applies(self, condition: Any, runtime_type: GraphQLObjectType) -> bool:
        if condition is None:
            return True
        conditional = type_from_ast(self.schema, condition)
        if conditional is runtime_type:
            return True
        return is_abstract_type(conditional) and self.schema.is_sub_type(conditional, runtime_type)

    def _collect(
        self,
        runtime_type: GraphQLObjectType,
        selection_set: SelectionSetNode,
        into: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        """graphql-core's CollectFields: response key -> its field nodes, in first-seen order."""
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                into.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self._applies(selection.type_condition, runtime_type):
                    self._collect(runtime_type, selection.selection_set, into, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = self.fragments.get(name)
                if fragment is None:
                    continue
                if selection.arguments:
                    raise Unplannable("fragment arguments")
                if self._applies(fragment.type_condition, runtime_type):
                    self._collect(runtime_type, fragment.selection_set, into, visited)

    def object_plan(
        self, runtime_type: GraphQLObjectType, parent_nodes: list[Any], path: tuple[str, ...]
    ) -> ObjectPlan:
        grouped: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        for node in parent_nodes:
            if node.selection_set is not None:
                self._collect(runtime_type, node.selection_set, grouped, visited)
        fields = []
        for key, nodes in grouped.items():
            field = self._field(runtime_type, key, nodes, (*path, key))
            if field is not None:
                fields.append(field)
        return ObjectPlan(runtime_type.name, fields)

    # ---------------------------------------------------------------- fields

    def _field_def(self, parent_type: GraphQLObjectType, name: str) -> GraphQLField | None:
        if name == "__schema" and parent_type is self.schema.query_type:
            return SchemaMetaFieldDef
        if name == "__type" and parent_type is self.schema.query_type:
            return TypeMetaFieldDef
        field: GraphQLField | None = parent_type.fields.get(name)
        return field

    def _field(
        self, parent_type: GraphQLObjectType, key: str, nodes: list[FieldNode], path: tuple[str, ...]
    ) -> FieldPlan | None:
        name = nodes[0].name.value
        field_def = TypeNameMetaFieldDef if name == "__typename" else self._field_def(parent_type, name)
        index = self.count
        self.count += 1
        if field_def is None:
            return None  # graphql-core leaves unknown fields out (validation refuses them first)
        plan = FieldPlan(key, name, parent_type, nodes, field_def)
        plan.index = index
        plan.path = path
        if name == "__typename":
            plan.mode = TYPENAME
            plan.typename = parent_type.name
            return plan
        plan.has_args = bool(field_def.args or nodes[0].arguments)
        strawberry_field = field_def.extensions.get(STRAWBERRY_FIELD) if field_def.extensions else None
        subscription_root = parent_type is self.schema.subscription_type
        if isinstance(strawberry_field, StrawberryField) and not subscription_root:
            self._strawberry_getter(plan, strawberry_field)
        else:
            plan.mode = GRAPHQL
            plan.call = field_def.resolve or default_field_resolver
        plan.output = self._output(field_def.type, nodes, path, nullable=True)
        return plan

    def _strawberry_getter(self, plan: FieldPlan, field: StrawberryField) -> None:
        converter = self.strawberry_schema.schema_converter
        if converter._get_field_exception_handlers(field):
            raise Unplannable(f"field {plan.parent_type.name}.{plan.name} has exception handlers")
        plan.strawberry_field = field
        if field.base_resolver is None and not field.extensions:
            if field.default_resolver is not getattr:
                raise Unplannable("a default resolver other than getattr")
            plan.mode = ATTRIBUTE
            plan.attribute = field.python_name
            return
        plan.mode = RESOLVER
        resolver = field.base_resolver
        if resolver is None:
            raise Unplannable(f"field {plan.parent_type.name}.{plan.name} has extensions but no resolver")
        call = resolver.wrapped_func
        if not callable(call):
            raise Unplannable(f"field {plan.parent_type.name}.{plan.name} has no callable resolver")
        plan.wants_self = resolver.self_parameter is not None
        plan.info_name = resolver.info_parameter.name if resolver.info_parameter else None
        plan.source_names = tuple(p.name for p in (resolver.root_parameter, resolver.parent_parameter) if p is not None)
        plan.has_args = plan.has_args or bool(field.extensions)
        chain = build_field_extension_resolvers(field) if field.extensions else []
        if chain:
            plan.call = _with_extensions(call, chain, plan.wants_self, plan.info_name, plan.source_names)
            plan.wants_self, plan.source_names = True, ()  # the chain receives the source first
            plan.info_name = plan.info_name or "\0info"  # the chain always receives info
        else:
            plan.call = call

    # ---------------------------------------------------------------- outputs

    def _output(
        self, type_: GraphQLOutputType, nodes: list[FieldNode], path: tuple[str, ...], nullable: bool
    ) -> Output:
        if isinstance(type_, GraphQLNonNull):
            return self._output(type_.of_type, nodes, path, nullable=False)
        if isinstance(type_, GraphQLList):
            output = Output(LIST, nullable, type_)
            output.item = self._output(type_.of_type, nodes, path, nullable=True)
            return output
        if isinstance(type_, GraphQLScalarType):
            output = Output(LEAF, nullable, type_)
            output.coerce = type_.coerce_output_value
            output.fast = _fast_scalar(type_)
            output.plain = {"String": str, "ID": str, "Boolean": bool}.get(type_.name)
            return output
        if isinstance(type_, GraphQLEnumType):
            output = Output(LEAF, nullable, type_)
            output.coerce = _enum_writer(type_)
            return output
        if isinstance(type_, GraphQLObjectType):
            output = Output(OBJECT, nullable, type_)
            output.object = self.object_plan(type_, nodes, path)
            return output
        if is_abstract_type(type_):
            output = Output(ABSTRACT, nullable, type_)
            output.abstract = AbstractPlan(self, type_, nodes, path)
            return output
        raise Unplannable(f"output type {type_}")


def _fast_scalar(type_: GraphQLScalarType) -> Callable[[Any], bool] | None:
    """For the built-in scalars: a test that a value is written as it is (what coercion would return)."""
    name = type_.name
    if name in ("String", "ID"):
        return lambda value: type(value) is str
    if name == "Boolean":
        return lambda value: type(value) is bool
    if name == "Int":
        return lambda value: type(value) is int and _INT_MIN <= value <= _INT_MAX
    if name == "Float":
        return lambda value: type(value) is float and math.isfinite(value)
    return None


def _enum_writer(type_: GraphQLEnumType) -> Callable[[Any], Any]:
    """The enum's own coercion, remembered per value (an enum has few)."""
    seen: dict[Any, Any] = {}
    coerce = type_.coerce_output_value

    def write(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            name = seen[value] = coerce(value)
            return name
        except TypeError:  # unhashable
            return coerce(value)

    return write


def _with_extensions(
    call: Callable[..., Any], chain: list[Any], wants_self: bool, info_name: str | None, source_names: tuple[str, ...]
) -> Callable[..., Any]:
    """The resolver wrapped in the field's extensions, the way Strawberry chains them: each extension
    gets `(next_, source, info, **kwargs)`; the innermost calls the resolver."""

    def innermost(source: Any, info: Any, **kwargs: Any) -> Any:
        if info_name is not None:
            kwargs[info_name] = info
        for name in source_names:
            kwargs[name] = source
        return call(source, **kwargs) if wants_self else call(**kwargs)

    chained = reduce(lambda inner, outer: partial(outer, inner), chain, innermost)

    def entry(source: Any, **kwargs: Any) -> Any:
        info = kwargs.pop(info_name or "\0info")
        return chained(source, info, **kwargs)

    return entry
