"""The WebSocket side of real time: graphql-transport-ws with authentication in `connection_init`,
a fresh context per operation (and a fresh read of who the token belongs to: a socket whose token
no longer grants what it did is closed with 4403, see schema/revocation.py), the per-connection cap
answered with RATE_LIMITED, keep-alive pings, and `Delivery`: the operation a subscription resolver
may write pre-serialized payloads to."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import weakref
from collections.abc import Awaitable, Callable
from contextlib import suppress
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, cast

from graphql import GraphQLError
from starlette.websockets import WebSocket, WebSocketState
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler, Operation
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.utils.aio import aclosing

from resolvers import presence
from resolvers.errors import RateLimited, Unauthenticated
from resolvers.viewer import Viewer, authenticate, authenticate_digest, bearer_token
from schema.context import Context
from schema.frames import FrameWriter, frame_writer, text_frame
from schema.loaders import Loaders
from schema.revocation import Sentry, sentry_of, still_grants
from schema.strawberry_internals import OperationStreamClosed, send_result_stream
from subscriptions.hub import Sink, current_hub

if TYPE_CHECKING:
    from schema.view import GraphQLView


@dataclasses.dataclass
class Delivery:
    """The graphql-transport-ws operation a subscription resolver is running for."""

    handler: RealtimeHandler
    operation: Operation[Any, Any]
    # The hub's horizon when the subscribe message arrived: inboxEvents without `after` starts there,
    # so what the operation awaits before it joins the hub (re-reading its token) loses no event,
    # and an event committed before the message arrived is not sent even if the hub is behind.
    received_at: int | None = None

    def __post_init__(self) -> None:
        self.prefix = '{"id":' + json.dumps(self.operation.id) + ',"type":"next","payload":'
        self.key = self.operation.id  # a frame shared by every socket whose operation has this id
        self.seen = 0
        self.writer: FrameWriter | None = None
        self.limit = 0

    async def send(self, payload: str) -> None:
        await self.handler.websocket.ws.send_text(self.prefix + payload + "}")  # type: ignore[attr-defined]

    def sink(self, seen: int) -> Sink | None:
        """Writes the hub's (event id, payload) items after `seen` straight to the socket, one frame
        built per payload and operation id and shared by every socket of the group; None where the
        server gives no FrameWriter (then `send` it is)."""
        self.writer = frame_writer(self.handler.websocket.ws.scope)  # type: ignore[attr-defined]
        self.seen = seen
        self.limit = cast("GraphQLView", self.handler.view).write_buffer_limit
        return None if self.writer is None else self._write

    def _write(self, item: tuple[int, str], shared: dict[Any, Any]) -> bool:
        """False (too slow) when the socket's unsent bytes are over the limit, instead of adding to them."""
        if item[0] <= self.seen:
            return True
        frame = shared.get(self.key)  # most clients number their first operation "1": one frame for all
        if frame is None:
            frame = self._frame(item[1], shared)
        return self.writer.write(frame, self.limit)  # type: ignore[union-attr]  # set with this sink

    def _frame(self, payload: str, shared: dict[Any, Any]) -> bytes:
        body = shared.get(None)
        if body is None:
            body = shared[None] = payload.encode() + b"}"
        frame: bytes = text_frame(self.prefix.encode() + body)
        shared[self.key] = frame
        return frame


current_delivery: ContextVar[Delivery | None] = ContextVar("current_delivery", default=None)
_received_at: ContextVar[int | None] = ContextVar("received_at", default=None)  # into the operation's task


async def authenticate_connection(context: Context) -> None:
    """`connection_init` must carry {"authorization": "Bearer <token>"}; else the socket closes with 4403."""
    params = context.connection_params or {}
    header = next((value for key, value in params.items() if key.lower() == "authorization"), None)
    viewer = await authenticate(bearer_token(header if isinstance(header, str) else None))
    if viewer is None:
        raise ConnectionRejectionError({"code": Unauthenticated.code})
    context.viewer = viewer


class LazyLoaders(Loaders):
    """Loaders made on first use: an idle subscription (inboxEvents loads per event) holds none.
    Loaders' own attributes are never set here (no `super().__init__()`): each is read through
    `__getattr__` from the real Loaders, made on the first read."""

    __slots__ = ("_loaders",)

    def __init__(self) -> None:
        self._loaders: Loaders | None = None

    def __getattr__(self, name: str) -> Any:
        if self._loaders is None:
            self._loaders = Loaders()
        return getattr(self._loaders, name)


class RealtimeHandler(BaseGraphQLTransportWSHandler[Context, Any]):
    """graphql-transport-ws with: a fresh context (loaders) per operation, the subscription cap
    answered with RATE_LIMITED, keep-alive pings, and `Delivery` for subscriptions that write
    pre-serialized payloads themselves."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.context.loaders = LazyLoaders()
        self.context.presence_set = set()
        self.sentry: Sentry | None = None
        # When `connection_init` read the token (monotonic time): the first operation uses that read
        # instead of its own if it comes within `websocket_recheck_seconds` (see `_viewer_now`).
        self.signed_in_at: float | None = None

    @property
    def accepted(self) -> Viewer | None:
        """Who the socket was accepted as in `connection_init` (user and role as they were then)."""
        return self.context.viewer

    @property
    def open(self) -> bool:
        return not _closed(self)

    async def handle_connection_init(self, message: Any) -> None:
        if not isinstance(message.get("payload"), dict):
            message = {**message, "payload": {}}  # no token either way: refused with 4403, not 4400
        await super().handle_connection_init(message)
        if self.connection_acknowledged:
            self.signed_in_at = time.monotonic()
            self.connection_init_timeout_task = None  # cancelled; holding it keeps its traceback alive
            _keep_alive.add(self, self.view.keep_alive_interval or 15)
            view = cast("GraphQLView", self.view)  # Strawberry types it as the base view; this handler is GraphQLView's
            self.sentry = sentry_of(await current_hub(), view.recheck_seconds)
            self.sentry.watch(self)

    async def shutdown(self) -> None:
        if self.sentry is not None:
            self.sentry.forget(self)
        if self.context.presence_set and self.context.viewer is not None:
            await presence.left(self.context.viewer.id, self.context.presence_set)  # R-PRESENCE
        await super().shutdown()

    async def revoke(self) -> None:
        """Closes the socket with 4403 (its token no longer grants what it was accepted with); its
        operations are cancelled first, so nothing more is sent on it."""
        if _closed(self):
            return
        writer = frame_writer(self.websocket.ws.scope)  # type: ignore[attr-defined]
        if writer is not None:
            writer.stopped = True  # the hub writes from its own task: stop those writes before the cancels land
        current = asyncio.current_task()
        for operation in list(self.operations.values()):
            if operation.task is not None and operation.task is not current:
                operation.task.cancel()
        with suppress(Exception):  # closed meanwhile by the client or another check
            await self.websocket.close(code=4403, reason="Forbidden")

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        cap = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and cap is not None
            and len(self.operations) >= cap
            and message["id"] not in self.operations
        ):
            error = GraphQLError(f"At most {cap} subscriptions per connection.", extensions={"code": RateLimited.code})
            await self.send_message({"id": message["id"], "type": "error", "payload": [error.formatted]})
            return
        if not self.connection_acknowledged:
            await super().handle_subscribe(message)  # closed with 4401
            return
        received_at = _received_at.set((await current_hub()).horizon())
        try:
            await super().handle_subscribe(message)  # starts the operation's task, in a copy of this context
        finally:
            _received_at.reset(received_at)

    async def run_operation(self, operation: Operation[Context, Any]) -> None:
        current_delivery.set(Delivery(self, operation, _received_at.get()))
        try:
            try:
                await self._stream(operation)
                return
            except GoLive as live:
                serve = live.serve
            await serve()  # outside the except block, so the traceback (Strawberry's frames) is freed
        except OperationStreamClosed:
            return
        except Exception as error:
            if _closed(self):
                self.operations.pop(operation.id, None)
                return
            await self.handle_task_exception(error)
            with suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)

    async def _stream(self, operation: Operation[Context, Any]) -> None:
        viewer = await self._viewer_now()
        if viewer is None:
            self.operations.pop(operation.id, None)
            await self.revoke()
            return
        result_source = await self.schema.stream(
            operation.query,
            variable_values=operation.variables,
            # Fresh per operation: the viewer, its access and the loaders are never read from a
            # cache of an earlier operation on this (long-lived) connection.
            context_value=dataclasses.replace(self.context, loaders=LazyLoaders(), viewer=viewer),
            root_value=self.root_value,
            operation_name=operation.operation_name,
        )
        async with aclosing(result_source):
            await send_result_stream(self, operation, result_source)
        await operation.send_operation_message({"id": operation.id, "type": "complete"})

    async def _viewer_now(self) -> Viewer | None:
        """Who the token belongs to now (one statement, none for a first operation that follows
        `connection_init` closely), if it still grants what the socket was accepted with: the token
        exists, its user is ACTIVE, and is the same user in the same role."""
        accepted = self.accepted
        if accepted is None or accepted.digest is None:
            return None
        signed_in_at, self.signed_in_at = self.signed_in_at, None
        if (
            signed_in_at is not None
            and time.monotonic() - signed_in_at < cast("GraphQLView", self.view).recheck_seconds
        ):
            # The first operation, right after `connection_init` read the token: that read serves it,
            # so connecting and subscribing read the token once. It is no older than what the periodic
            # re-check allows an open socket (schema/revocation.py), which closes the socket as ever.
            return Viewer(accepted.user, accepted.digest)
        viewer = await authenticate_digest(accepted.digest)
        if viewer is None or not still_grants(accepted, viewer.user.id, viewer.user.role):
            return None
        self.context.viewer = viewer  # same user and role: the connection keeps one row, not one per operation
        return viewer


class GoLive(BaseException):
    """Raised by inboxEvents once its replay is sent: it unwinds Strawberry's per-operation stream
    (extensions, execution context, generators: about half an idle subscriber's memory) and the
    operation's task carries on with `serve`, a plain loop from the hub's queue to the socket.
    A BaseException, so Strawberry's `except Exception` turns it into no error result."""

    def __init__(self, serve: Callable[[], Awaitable[None]]) -> None:
        super().__init__()
        self.serve = serve


def _closed(handler: RealtimeHandler) -> bool:
    ws: WebSocket = handler.websocket.ws  # type: ignore[attr-defined]  # the ASGI adapter's own attribute
    return ws.application_state != WebSocketState.CONNECTED or ws.client_state != WebSocketState.CONNECTED


PING_FRAME = text_frame(b'{"type":"ping"}')


class _KeepAlive:
    """One task per interval and loop pings every acknowledged connection (graphql-transport-ws `ping`)."""

    def __init__(self) -> None:
        self.rounds: dict[float, tuple[weakref.WeakSet[RealtimeHandler], asyncio.Task[None]]] = {}

    def add(self, handler: RealtimeHandler, interval: float) -> None:
        entry = self.rounds.get(interval)
        if entry is None or entry[1].done() or entry[1].get_loop() is not asyncio.get_running_loop():
            handlers: weakref.WeakSet[RealtimeHandler] = weakref.WeakSet()
            entry = self.rounds[interval] = (
                handlers,
                asyncio.create_task(self._run(interval, handlers), name="ws-keep-alive"),
            )
        entry[0].add(handler)

    async def _run(self, interval: float, handlers: weakref.WeakSet[RealtimeHandler]) -> None:
        while handlers:
            await asyncio.sleep(interval)
            for number, handler in enumerate(list(handlers), 1):
                if _closed(handler):
                    handlers.discard(handler)
                    continue
                writer = frame_writer(handler.websocket.ws.scope)  # type: ignore[attr-defined]
                if writer is not None:
                    if writer.wrote:  # events went out since the last round: not idle, no ping (nor pong)
                        writer.wrote = False
                        continue
                    # The same frame for every socket, written as the hub writes events; a socket over
                    # its write buffer gets none (the hub ends it at its next event).
                    writer.write(PING_FRAME, cast("GraphQLView", handler.view).write_buffer_limit)
                    writer.wrote = False
                    if number % 256 == 0:
                        await asyncio.sleep(0)  # thousands of sockets: let the loop breathe
                    continue
                with suppress(Exception):
                    await handler.send_message({"type": "ping"})


_keep_alive = _KeepAlive()
