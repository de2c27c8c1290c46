"""The size of a document, checked before anything of it runs (DESIGN.md §5): depth, aliases and cost.

Cost is the number of objects an operation may return. A field whose value is an object counts one
object, plus what is selected inside it; a list counts its length times that. A connection's list
(`edges`) is as long as the connection's `first`/`last`: the literal, the variable's value, the
argument's default, or else the hard maximum MAX_PAGE. Any other list counts its bound (LIST_BOUNDS),
else MAX_PAGE. Scalars cost nothing (the alias and token limits bound them); introspection fields are
not costed (their size is the schema's). Types that may or may not match (`... on Conversation` under
`node`) are all counted: the cost is an upper bound.

Every fragment is measured once, after the fragments it spreads, and a spread adds its measure: the
work is linear in the document's size however often fragments spread each other (the depth and alias
limiters this replaces walked every spread again, exponentially: `fragment F0 on Query { ...F1 ...F1 }`…).

Depth and aliases depend on the document only: the `QueryLimits` validation rule checks them (so
ValidationCache keeps the answer). The cost depends on the variables (`first: $n`): `QueryCost` checks
the operation being run with its variables on every request, once validation passed and before any
resolver runs, subscriptions included (there the cost is per event).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    BREAK,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_operation_ast,
)
from graphql.pyutils import Undefined
from strawberry.extensions import SchemaExtension

from models import NotificationKind
from resolvers.errors import QueryTooComplex
from resolvers.messages import MAX_ATTACHMENTS
from resolvers.pagination import MAX_PAGE

PAGE_ARGUMENTS = ("first", "last")

# Lists without a page argument but with a known length; any other is counted at MAX_PAGE.
LIST_BOUNDS: dict[tuple[str, str], int] = {
    ("Message", "attachments"): MAX_ATTACHMENTS,
    ("Query", "notificationSettings"): len(NotificationKind),
    ("Mutation", "updateNotificationSettings"): len(NotificationKind),
}


@dataclass(slots=True)
class Measure:
    """Of one selection set. Its lists' length is set by the field that selects it when that field
    is paged (`listed` objects per item), else by each list's bound (`bounded` in all)."""

    depth: int = 0
    aliases: int = 0
    fixed: int = 0  # objects outside this level's lists
    listed: int = 0
    bounded: int = 0

    def add(self, other: Measure) -> None:
        self.depth = max(self.depth, other.depth)
        self.aliases += other.aliases
        self.fixed += other.fixed
        self.listed += other.listed
        self.bounded += other.bounded

    def cost(self, page: int | None = None) -> int:
        return self.fixed + (self.bounded if page is None else page * self.listed)


class Measurer:
    """Measures a document's operations, each fragment once. For the cost, give the operation that
    runs and the request's variables (page sizes may be variables, with the operation's defaults)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        self.schema = schema
        self.variables: Mapping[str, Any] = variables if isinstance(variables, Mapping) else {}
        self.defaults = {
            definition.variable.name.value: definition.default_value
            for definition in (operation.variable_definitions or () if operation else ())
            if definition.default_value is not None
        }
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.measured: dict[str, Measure] = {}
        for name in _in_dependency_order(fragments):
            fragment = fragments[name]
            self.measured[name] = self._selections(
                fragment.selection_set, self.schema.get_type(fragment.type_condition.name.value)
            )

    def operation(self, operation: OperationDefinitionNode) -> Measure:
        return self._selections(operation.selection_set, self.schema.get_root_type(operation.operation))

    def _selections(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None) -> Measure:
        total = Measure()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self._field(selection, parent, total)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                total.add(
                    self._selections(
                        selection.selection_set, self.schema.get_type(condition.name.value) if condition else parent
                    )
                )
            elif isinstance(selection, FragmentSpreadNode):
                # Unknown or cyclic (both refused by validation): nothing.
                total.add(self.measured.get(selection.name.value) or Measure())
        return total

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None, total: Measure) -> None:
        total.aliases += node.alias is not None
        if node.selection_set is None:
            return
        name = node.name.value
        if name.startswith("__"):  # introspection: only its aliases count
            total.aliases += self._selections(node.selection_set, None).aliases
            return
        fields = parent.fields if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)) else {}
        definition = fields.get(name)
        child = self._selections(node.selection_set, get_named_type(definition.type) if definition else None)
        total.depth = max(total.depth, 1 + child.depth)
        total.aliases += child.aliases
        objects = 1 + child.cost(self._page(node, definition))
        if definition is not None and _is_list(definition):
            assert parent is not None
            total.listed += objects
            total.bounded += LIST_BOUNDS.get((parent.name, name), MAX_PAGE) * objects
        else:
            total.fixed += objects

    def _page(self, node: FieldNode, definition: GraphQLField | None) -> int | None:
        """How long the lists under a paged field are; None if it is not paged."""
        if definition is None or not any(name in definition.args for name in PAGE_ARGUMENTS):
            return None
        given = {argument.name.value: argument.value for argument in node.arguments or ()}
        sizes = []
        for name in PAGE_ARGUMENTS:
            if name not in definition.args:
                continue
            value: Any = given.get(name, Undefined)
            if isinstance(value, VariableNode):
                variable = value.name.value
                value = (
                    self.variables[variable] if variable in self.variables else self.defaults.get(variable, Undefined)
                )
            if value is Undefined:
                value = definition.args[name].default_value
            if isinstance(value, IntValueNode):
                value = int(value.value)
            if isinstance(value, int) and not isinstance(value, bool):
                sizes.append(min(max(value, 0), MAX_PAGE))
        return max(sizes) if sizes else MAX_PAGE


def _is_list(definition: GraphQLField) -> bool:
    kind = definition.type
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    return isinstance(kind, GraphQLList)


def _spreads(selection_set: SelectionSetNode) -> Iterator[str]:
    """The fragments spread in a selection set, not following them."""
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                yield selection.name.value
            elif isinstance(selection, (FieldNode, InlineFragmentNode)) and selection.selection_set is not None:
                pending.append(selection.selection_set)


def _in_dependency_order(fragments: Mapping[str, FragmentDefinitionNode]) -> list[str]:
    """Fragment names, each after every fragment it spreads (without recursion: a chain of spreads may
    be as long as the document; a cycle, refused by validation, is cut)."""
    order: list[str] = []
    seen: set[str] = set()
    for root in fragments:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, _spreads(fragments[root].selection_set))]
        while stack:
            name, spreads = stack[-1]
            child = next(spreads, None)
            if child is None:
                stack.pop()
                order.append(name)
            elif child in fragments and child not in seen:
                seen.add(child)
                stack.append((child, _spreads(fragments[child].selection_set)))
    return order


def too_complex(message: str, node: Any = None, **extensions: Any) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": QueryTooComplex.code, **extensions})


def limits_rule(max_depth: int, max_aliases: int) -> type[ValidationRule]:
    """The validation rule for these limits. Make it once per schema: ValidationCache keys on the class."""

    class QueryLimits(ValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> Any:
            measurer = Measurer(self.context.schema, node)
            for definition in node.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                measure = measurer.operation(definition)
                if measure.depth > max_depth:
                    self.report_error(
                        too_complex(
                            f"The operation nests {measure.depth} levels deep; the limit is {max_depth}.",
                            definition,
                            depth=measure.depth,
                            limit=max_depth,
                        )
                    )
                if measure.aliases > max_aliases:
                    self.report_error(
                        too_complex(
                            f"The operation has {measure.aliases} aliases; the limit is {max_aliases}.",
                            definition,
                            aliases=measure.aliases,
                            limit=max_aliases,
                        )
                    )
            return BREAK

    return QueryLimits


class CostCache:
    """Costs already measured, by document, operation and the variables' values as far as a cost can
    depend on them (an integer's value; any other value only by being given): a document served
    again with the same page sizes is not walked again. Bounded: least recently used go."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self.costs: OrderedDict[Hashable, int] = OrderedDict()

    def cost(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
    ) -> int:
        text = document.loc.source.body if document.loc is not None else None
        if text is None:
            return Measurer(schema, document, operation, variables).operation(operation).cost()
        given = frozenset((name, value if type(value) is int else _GIVEN) for name, value in (variables or {}).items())
        key = (text, operation.name.value if operation.name else None, given)
        found = self.costs.get(key)
        if found is None:
            found = self.costs[key] = Measurer(schema, document, operation, variables).operation(operation).cost()
            if len(self.costs) > self.size:
                self.costs.popitem(last=False)
        else:
            self.costs.move_to_end(key)
        return found


_GIVEN = object()  # a variable given a value that is not an integer: no page size, whatever it is


class QueryCost(SchemaExtension):
    """Refuses an operation whose cost, with its variables, is over `max_nodes`. Runs as a validation
    hook after ValidationCache (list it after that one): a refusal is a validation error, so nothing runs."""

    def __init__(self, max_nodes: int, costs: CostCache | None = None) -> None:
        self.max_nodes = max_nodes
        self.costs = costs or CostCache(1)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if not context.pre_execution_errors and document is not None:  # refused documents are not costed
            operation = get_operation_ast(document, context.operation_name)
            if operation is not None:
                cost = self.costs.cost(context.schema._schema, document, operation, context.variables)
                if cost > self.max_nodes:
                    context.pre_execution_errors = [
                        too_complex(
                            f"The operation may return {cost} objects; the limit is {self.max_nodes}. "
                            "Ask for smaller pages (`first`/`last`) or fewer nested lists.",
                            operation,
                            cost=cost,
                            limit=self.max_nodes,
                        )
                    ]
        yield
