"""Real time over GraphQL: Subscription.inboxEvents, Query.inboxEventCursor, and live notification
ids for other subscriptions (the WebSocket side is schema/websocket.py).

Fan-out without re-executing per subscriber: subscribers of one account sending the same document
and variables (their `after` cursor aside) share a group (subscriptions/hub.py). Each event is
executed ONCE per group, with fresh loaders, as the group's first recipient; the serialized payload
goes to every recipient. What a payload may depend on besides the account is watched while
executing: `viewer.is_me(x)` answers (`Conversation.section` asks it of the assignee) make it
run once more for those users only; anything else about who asks, once per user. So the
`inboxEvents` resolver yields nothing through Strawberry: inside our graphql-transport-ws handler
it writes the shared bytes to its own operation (`Delivery`), replay first, then live.

Other subscriptions of the schema (e.g. `notifications`) receive their user's ids through
`live_notification_ids(info)`:

    @strawberry.subscription
    async def notifications(self, info: Info) -> AsyncGenerator[Notification, None]:
        async for notification_id in live_notification_ids(info):
            row = await load_notification(notification_id)   # fresh row; loaders are fresh too
            yield Notification.of(row)
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from functools import partial
from typing import Annotated, Any

import strawberry
from graphql import VariableNode, visit
from graphql.language import Visitor
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation
from strawberry.types import Info
from strawberry.types.graphql import OperationType

import models
from resolvers.access import audience
from resolvers.errors import InboxError, QueryTooComplex, SubscriberTooSlow, ValidationFailed
from resolvers.realtime import (
    events_between,
    newest_cursor,
    resume_point,
    subscribable_conversation,
)
from resolvers.viewer import Viewer
from schema.context import Context, viewer_of
from schema.loaders import Loaders
from schema.strawberry_internals import raw_info
from schema.types import InboxEvent
from schema.websocket import Delivery, GoLive, current_delivery
from subscriptions.budget import OverBudget
from subscriptions.hub import Group, Hub, Subscriber, TooSlow, current_hub

# ---------------------------------------------------------------- executing an event once per group


class _Witness(Viewer):
    """The viewer an event is executed as. Notes what the payload depended on: nothing but the
    account; `is_me(x)` answers (the ids in `compared`); or anything else about who asks (`personal`)."""

    personal = False

    def __init__(self, user: models.User) -> None:
        super().__init__(user)
        object.__setattr__(self, "compared", set())

    def __getattribute__(self, name: str) -> Any:
        if name == "account_id":
            return object.__getattribute__(self, "user").account_id
        if name == "is_me":
            return object.__getattribute__(self, "_is_me")
        if not name.startswith("_") and name not in ("personal", "compared"):
            object.__setattr__(self, "personal", True)
        return object.__getattribute__(self, name)

    def _is_me(self, user_id: int | None) -> bool:
        if user_id is not None:
            object.__getattribute__(self, "compared").add(user_id)
        user: models.User = object.__getattribute__(self, "user")
        return user_id == user.id


class _EventScope:
    """What every group rendering one event shares: fresh loaders, the root object, the audience."""

    def __init__(self, event: models.InboxEvent) -> None:
        self.event = event
        self.root = InboxEvent(row=event)
        self.loaders = Loaders()
        self._audience: frozenset[int] | None = None

    async def audience(self) -> frozenset[int]:
        if self._audience is None:
            self._audience = await audience(self.event.app_id)
        return self._audience


class EventRenderer:
    """Executes one subscription document for an event: once per group, or once per user if personal."""

    def __init__(self, schema: Any, query: str, variables: dict[str, Any] | None, operation_name: str | None) -> None:
        self.schema = schema
        self.query = query
        self.variables = variables
        self.operation_name = operation_name

    async def render(
        self, event: models.InboxEvent, members: list[Subscriber], scratch: dict[str, Any]
    ) -> list[tuple[str, Sequence[Subscriber]]]:
        scope = scratch.get("scope")
        if scope is None:
            scope = scratch["scope"] = _EventScope(event)
        allowed = await scope.audience()
        recipients = [member for member in members if member.user.id in allowed]
        if not recipients:
            return []
        first = await self._execute(scope, recipients[0].user)
        payload, witness = first
        if not witness.personal and not witness.compared & allowed:
            # The common case, in one pass over the members: it compared with no recipient, so every
            # recipient answers each `is_me` alike and gets the same payload.
            return [(payload, recipients)]
        return await self._render_apart(scope, recipients, first)

    async def _render_apart(
        self, scope: _EventScope, allowed_members: list[Subscriber], first: tuple[str, _Witness]
    ) -> list[tuple[str, Sequence[Subscriber]]]:
        """One run per set of users it cannot tell apart, `first` being the first member's."""
        by_user: dict[int, list[Subscriber]] = {}
        for member in allowed_members:
            by_user.setdefault(member.user.id, []).append(member)
        rendered: list[tuple[str, Sequence[Subscriber]]] = []
        compared: set[int] = set()
        result: tuple[str, _Witness] | None = first
        while by_user:
            user_id, recipients = next(iter(by_user.items()))
            payload, witness = result or await self._execute(scope, recipients[0].user)
            result = None
            if witness.personal:  # depends on who asks in ways we cannot tell apart: one run per user
                rendered.append((payload, by_user.pop(user_id)))
                continue
            compared |= witness.compared
            if user_id in compared:
                rendered.append((payload, by_user.pop(user_id)))
                continue
            # Every user it never compared with answers each `is_me` the same: same payload.
            alike = [other for other in by_user if other not in compared]
            rendered.append((payload, [member for other in alike for member in by_user.pop(other)]))
        return rendered

    async def _execute(self, scope: _EventScope, user: models.User) -> tuple[str, _Witness]:
        viewer = _Witness(user)
        context = Context(request=None, viewer=viewer, request_id=f"event-{scope.event.id}", loaders=scope.loaders)
        result = await self.schema.execute(
            self.query,
            variable_values=self.variables,
            context_value=context,
            root_value=scope.root,
            operation_name=self.operation_name,
            allowed_operation_types=(OperationType.SUBSCRIPTION,),
        )
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [error.formatted for error in result.errors]
        return json.dumps(payload, separators=(",", ":"), default=str), viewer


def _group_key(info: Info, operation: Operation[Any, Any], conversation_pk: int | None) -> tuple[Any, ...]:
    """Same document, same variables (but for a variable used only as `after`), same filter."""
    variables = dict(operation.variables or {})
    after = next(
        (arg.value for arg in raw_info(info).field_nodes[0].arguments or () if arg.name.value == "after"), None
    )
    if isinstance(after, VariableNode) and _variable_uses(info, after.name.value) == 1:
        variables.pop(after.name.value, None)
    return (operation.query, operation.operation_name, json.dumps(variables, sort_keys=True), conversation_pk)


def _variable_uses(info: Info, name: str) -> int:
    uses = 0

    class Count(Visitor):
        def enter_variable(self, node: VariableNode, *_: Any) -> None:
            nonlocal uses
            uses += node.name.value == name

    for node in (info.operation.selection_set, *raw_info(info).fragments.values()):
        visit(node, Count())
    return uses


# ---------------------------------------------------------------- roots


async def _serve_inbox_events(
    info: Info, delivery: Delivery, after_id: int | None, conversation_pk: int | None
) -> AsyncGenerator[InboxEvent, None]:
    viewer = viewer_of(info)
    operation = delivery.operation
    renderer = EventRenderer(info.schema, operation.query, operation.variables, operation.operation_name)
    hub = await current_hub()
    subscriber = hub.join(
        _group_key(info, operation, conversation_pk),
        lambda: Group(viewer.account_id, conversation_pk, renderer.render),
        viewer.user,
    )
    group = subscriber.group
    assert group is not None
    try:
        if after_id is not None:
            async for event in events_between(viewer, after_id, subscriber.start_after, conversation_pk):
                for payload, _ in await hub.render(group, event, [subscriber], {}):
                    await delivery.send(payload)
    except OverBudget as over:
        hub.leave(subscriber)
        raise _over_budget(over) from None
    except BaseException:
        hub.leave(subscriber)
        raise
    raise GoLive(partial(_stay_live, hub, delivery, subscriber, after_id or 0))
    yield  # an async generator by contract; its payloads go out through `delivery`, shared per group


async def _stay_live(hub: Hub, delivery: Delivery, subscriber: Subscriber, seen: int) -> None:
    """Sends the group's payloads (events after `seen`) until completed, disconnected or too slow:
    written by the hub straight to the socket where the server allows it (Delivery.sink), else from here."""
    try:
        sink = delivery.sink(seen)
        if sink is not None:
            subscriber.attach(sink)  # then `get` only waits for the end
        while True:
            event_id, payload = await subscriber.get()
            if event_id > seen:
                await delivery.send(payload)
    except TooSlow:
        await _end(delivery, SubscriberTooSlow("You fell too far behind; resubscribe with your last cursor."))
    except OverBudget as over:
        await _end(delivery, _over_budget(over))
    finally:
        hub.leave(subscriber)


def _over_budget(over: OverBudget) -> QueryTooComplex:
    budget_ms = round(over.seconds * 1000)
    return QueryTooComplex(
        f"Rendering one event for this subscription took longer than the render budget ({budget_ms} ms); "
        "subscribe with a lighter document (fewer or smaller nested pages).",
        budgetMs=budget_ms,
    )


async def _end(delivery: Delivery, error: InboxError) -> None:
    """Ends the operation with `error`, as a last `next` payload then `complete`."""
    extensions = {**error.extensions, "code": error.code}
    await delivery.send(json.dumps({"data": None, "errors": [{"message": error.message, "extensions": extensions}]}))
    await delivery.operation.send_operation_message({"id": delivery.operation.id, "type": "complete"})


@strawberry.type
class RealtimeSubscription:
    @strawberry.subscription(
        description="Every change in the conversations the viewer can see. `after` replays missed events first."
    )
    async def inbox_events(
        self,
        info: Info,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="An event's `cursor` or `inboxEventCursor`: every event after it is sent, missed ones "
                "first, none twice. Without it the subscription is live only. Malformed: VALIDATION_FAILED."
            ),
        ] = None,
        conversation_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only this conversation's events; NOT_FOUND if the viewer cannot see it."),
        ] = None,
    ) -> AsyncGenerator[InboxEvent, None]:
        # A coroutine returning the stream: what it refuses before the stream starts (a malformed
        # cursor or one newer than the newest event, a conversation the viewer cannot see) is
        # answered with a graphql-transport-ws `error` message, not a payload.
        delivery = current_delivery.get()
        if delivery is None:
            raise ValidationFailed("inboxEvents is served over WebSocket (graphql-transport-ws) at /graphql.")
        viewer = viewer_of(info)
        after_id = await resume_point(viewer, after) if after is not None else delivery.received_at
        conversation_pk = await subscribable_conversation(viewer, conversation_id) if conversation_id else None
        return _serve_inbox_events(info, delivery, after_id, conversation_pk)


@strawberry.type
class RealtimeQuery:
    @strawberry.field(
        description="The newest event's cursor: subscribe to inboxEvents(after: it) to miss nothing from now on."
    )
    async def inbox_event_cursor(self, info: Info) -> str:
        return await newest_cursor(viewer_of(info))


async def live_notification_ids(info: Info) -> AsyncIterator[int]:
    """The viewer's notification ids as they are published (from any process), live only.
    Gives the operation fresh loaders before each id, so nothing is served from a stale cache;
    ends with SUBSCRIBER_TOO_SLOW when the client falls `subscriber_queue_size` ids behind."""
    viewer = viewer_of(info)
    try:
        async for notification_id in (await current_hub()).notification_ids(viewer.id):
            info.context.loaders = Loaders()
            yield notification_id
    except TooSlow:
        raise SubscriberTooSlow("You fell too far behind; subscribe again.") from None
