"""A budget of event-loop time for one piece of work, its own tasks included.

A subscription's render of one event must not run for longer than the render budget. Wall-clock
time would be the wrong measure: a plain render waiting behind another account's heavy one (for the
loop or for the database) would be charged for the wait and ended in its place. So `Budget.run`
charges only the time the work's own code runs: its coroutine's steps, and the steps of every task
it starts (graphql-core runs the items of a list as tasks), which a task factory on the loop meters
when they are created inside the budget's context. Outside a budget the factory changes nothing.
Garbage collections are not charged either: one pauses everything (for half a second on a big
heap) and is no one step's doing.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine, Generator
from contextvars import ContextVar
from time import perf_counter
from typing import Any, TypeVar

T = TypeVar("T")

_current: ContextVar[Budget | None] = ContextVar("switchboard_budget", default=None)


class _Collections:
    """The time garbage collections took so far in this process."""

    total = 0.0
    _started = 0.0

    @classmethod
    def note(cls, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            cls._started = perf_counter()
        else:
            cls.total += perf_counter() - cls._started


gc.callbacks.append(_Collections.note)


class OverBudget(Exception):
    """The work ran for longer than its budget and was cancelled."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"ran for over {seconds * 1000:.0f} ms")
        self.seconds = seconds


class Budget:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.spent = 0.0
        self.exceeded = False
        self._task: asyncio.Task[Any] | None = None

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """`work`'s result; OverBudget (and `work` cancelled) once it ran for longer than the budget."""
        _meter_tasks(asyncio.get_running_loop())
        token = _current.set(self)
        try:
            task = self._task = asyncio.ensure_future(work)  # metered, and so is every task it starts
        finally:
            _current.reset(token)
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self.exceeded and not (current and current.cancelling()):
                raise OverBudget(self.seconds) from None
            raise
        finally:
            self._task = None  # a task it started that outlives it is charged to no one

    def charge(self, seconds: float) -> None:
        self.spent += seconds
        if self.spent > self.seconds and not self.exceeded and self._task is not None:
            self.exceeded = True
            self._task.cancel()


class _Metered(Coroutine[Any, Any, Any]):
    """A coroutine whose every step is charged to a budget."""

    __slots__ = ("_budget", "_coro")

    def __init__(self, coro: Coroutine[Any, Any, Any], budget: Budget) -> None:
        self._coro = coro
        self._budget = budget

    def send(self, value: Any) -> Any:
        started, collecting = perf_counter(), _Collections.total
        try:
            return self._coro.send(value)
        finally:
            self._budget.charge(perf_counter() - started - (_Collections.total - collecting))

    def throw(self, *args: Any) -> Any:
        started, collecting = perf_counter(), _Collections.total
        try:
            return self._coro.throw(*args)
        finally:
            self._budget.charge(perf_counter() - started - (_Collections.total - collecting))

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, None, Any]:
        return self._coro.__await__()


class _MeteringFactory:
    """The loop's task factory: wraps tasks created inside a budget, hands every task to the factory
    it replaced (or makes a plain Task)."""

    def __init__(self, previous: Callable[..., asyncio.Future[Any]] | None) -> None:
        self.previous = previous

    def __call__(self, loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Future[Any]:
        budget = _current.get()
        if budget is not None and asyncio.iscoroutine(coro) and not isinstance(coro, _Metered):
            coro = _Metered(coro, budget)
        if self.previous is not None:
            return self.previous(loop, coro, **kwargs)
        return asyncio.Task(coro, loop=loop, **kwargs)


def _meter_tasks(loop: asyncio.AbstractEventLoop) -> None:
    factory = loop.get_task_factory()
    if not isinstance(factory, _MeteringFactory):
        loop.set_task_factory(_MeteringFactory(factory))
