"""What every fake provider is: a Starlette app served on 127.0.0.1 inside the running event loop,
a refusal queued for its next request, and the simulated phone's progress after a message it took."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route


class LoopbackServer:
    """A Starlette app served by uvicorn on 127.0.0.1 inside the running event loop.
    `stop()` then `start()` again keeps the port: that is how a test takes the provider down."""

    def __init__(self) -> None:
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    def routes(self) -> list[Route]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        config = uvicorn.Config(
            Starlette(routes=self.routes()), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None

    def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Runs `work` (a simulated phone's callbacks) without awaiting it, keeping a reference."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


@dataclass
class Rejection:
    status: int
    body: dict[str, Any]


@dataclass
class Progress:
    """How a simulated phone reports a message it got: statuses after these delays (seconds)."""

    delivered_after: float | None = None
    read_after: float | None = None
