"""Awaiting a level's awaitables together without a Task each.

`asyncio.gather` wraps every coroutine in a Task: a Task object, a scheduled step to start it, a
wake-up scheduled when the future it waits on is done, and a callback into the gather when it ends
— four event-loop handles per row of a page. The resolvers of one level mostly wait on the same thing (one DataLoader batch), so here each coroutine is
stepped directly, in its own copy of the context as a Task would run it; a done-callback on what it
waits on puts it back in line, and the caller's task sleeps until one is. Once the batch is in, every
coroutine waiting on it is resumed in one pass of the caller's task.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Generator, Sequence
from functools import partial
from typing import Any


class _Child:
    __slots__ = ("context", "finished", "index", "iterator", "waits_on")

    def __init__(self, index: int, awaitable: Awaitable[Any]) -> None:
        self.index = index
        self.iterator: Generator[Any, None, Any] = awaitable.__await__()
        self.context = contextvars.copy_context()
        self.waits_on: Any = None  # the future it yielded; None after a bare yield (asyncio.sleep(0))
        self.finished = False


async def settle(awaitables: Sequence[Awaitable[Any]]) -> list[Any]:
    """Each awaitable's value, or what it raised, in order: `asyncio.gather(*awaitables,
    return_exceptions=True)` without the Tasks. Each is resumed as soon as what it waits on is done
    (one may wait on another, e.g. on a lock another holds). If the calling task is cancelled, the
    futures they wait on are cancelled (as a Task's would be), they are resumed to see it, and the
    cancellation goes on."""
    loop = asyncio.get_running_loop()
    results: list[Any] = [None] * len(awaitables)
    children = [_Child(index, awaitable) for index, awaitable in enumerate(awaitables)]
    ready: list[_Child] = []
    wake: list[asyncio.Future[None]] = []

    def resume(child: _Child, *_: Any) -> None:
        ready.append(child)
        if wake and not wake[0].done():
            wake[0].set_result(None)

    def wait(child: _Child) -> None:
        if child.waits_on is None:
            loop.call_soon(resume, child)  # a bare yield: resumed on the loop's next turn, as a Task is
        else:
            child.waits_on.add_done_callback(partial(resume, child))

    waiting = 0
    for child in children:
        if _step(child, results):
            wait(child)
            waiting += 1
    while waiting:
        if not ready:
            wake[:] = [loop.create_future()]
            try:
                await wake[0]
            except asyncio.CancelledError:
                _cancel([child for child in children if not child.finished])
                raise
        resumed, ready[:] = ready[:], []
        for child in resumed:
            if _step(child, results):
                wait(child)
            else:
                waiting -= 1
    return results


def _step(child: _Child, results: list[Any]) -> bool:
    """Runs `child` until it waits (True) or ends (False, its outcome in `results`)."""
    try:
        yielded = child.context.run(child.iterator.send, None)
        while yielded is not None and not getattr(yielded, "_asyncio_future_blocking", False):
            # What a Task refuses too: only futures (or a bare yield) may be yielded to the event loop.
            refusal = RuntimeError(f"Task got bad yield: {yielded!r}")
            yielded = child.context.run(child.iterator.throw, refusal)
    except StopIteration as stop:
        return _end(child, results, stop.value)
    except BaseException as error:  # kept, as gather(return_exceptions=True) keeps it
        return _end(child, results, error)
    if yielded is not None:
        yielded._asyncio_future_blocking = False  # the Task protocol: the waiter takes the future over
    child.waits_on = yielded
    return True


def _end(child: _Child, results: list[Any], outcome: Any) -> bool:
    results[child.index] = outcome
    child.finished = True
    return False


def _cancel(waiting: list[_Child]) -> None:
    """The caller is cancelled: each child still waiting is cancelled as a Task would be (what it
    waits on is cancelled, or CancelledError is thrown in) and handed to a Task
    of its own, in its context, so that cleanup which itself awaits (a driver ending its query)
    runs to its end after the caller has gone."""
    loop = asyncio.get_running_loop()
    for child in waiting:
        waits_on = child.waits_on
        if waits_on is not None and not waits_on.done():
            waits_on.cancel()  # it sees CancelledError when resumed
        else:
            # Resumable already (what it waits on is done) or after a bare yield: CancelledError is
            # thrown in where it stands, as a Task does; resumed instead, it would run on, its loads
            # and rows for a caller that has gone. (Cancelling its Task before its first step would
            # not reach it at all, and leave what it holds, a lock, held.)
            try:
                waits_on = child.context.run(child.iterator.throw, asyncio.CancelledError())
            except BaseException:  # it ended: nothing more to run
                continue
            if waits_on is not None:
                waits_on._asyncio_future_blocking = False
        task = loop.create_task(_rest(child.iterator, waits_on), context=child.context)
        _finishing.add(task)
        task.add_done_callback(_finished)


_finishing: set[asyncio.Task[Any]] = set()  # the event loop keeps only weak references to tasks


def _finished(task: asyncio.Task[Any]) -> None:
    _finishing.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: the request that started it has already ended


async def _rest(iterator: Generator[Any, None, Any], waits_on: asyncio.Future[Any] | None) -> Any:
    if waits_on is not None:
        await asyncio.wait([waits_on])  # done, whatever its outcome: the child reads it when resumed
    return await _Resumed(iterator)


class _Resumed:
    """A child's coroutine, part way through, as an awaitable: awaiting it carries it on."""

    __slots__ = ("iterator",)

    def __init__(self, iterator: Generator[Any, None, Any]) -> None:
        self.iterator = iterator

    def __await__(self) -> Generator[Any, None, Any]:
        return self.iterator
