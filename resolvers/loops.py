"""One object for each event loop (a process has one; tests run several): the webhooks' committer, their app reader."""

from __future__ import annotations

import asyncio
import weakref
from typing import Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    """`get` is this loop's object, None before `set`. Looked up on every webhook: the last loop's
    answer is remembered behind a weak reference (a WeakKeyDictionary lookup makes one each time)."""

    def __init__(self) -> None:
        self._objects: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()
        self._last: tuple[weakref.ref[asyncio.AbstractEventLoop], T] | None = None

    def get(self) -> T | None:
        loop = asyncio.get_running_loop()
        if self._last is not None and self._last[0]() is loop:
            return self._last[1]
        found = self._objects.get(loop)
        if found is not None:
            self._last = (weakref.ref(loop), found)
        return found

    def set(self, value: T) -> T:
        loop = asyncio.get_running_loop()
        self._objects[loop] = value
        self._last = (weakref.ref(loop), value)
        return value
