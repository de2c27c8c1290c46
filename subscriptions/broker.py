"""Brokers carry small messages between server processes: in memory (one process) or Redis pub/sub.

A broker holds ONE subscription for its process. `publish` never blocks and never raises: it
queues the message and a background task sends it, so while Redis is down queries, mutations
and webhooks carry on (what subscribers missed meanwhile is read back from the database, see
subscriptions/hub.py). `on_connected` is called each time the subscription is (re)established,
so the hub can catch up on what it may have missed while it was not.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from typing import Protocol

import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("switchboard.broker")

OnMessage = Callable[[bytes], None]
OnConnected = Callable[[], None]

RECONNECT_FIRST_DELAY = 0.1
RECONNECT_MAX_DELAY = 5.0
OUTBOX_LIMIT = 10_000


class Broker(Protocol):
    async def start(self, on_message: OnMessage, on_connected: OnConnected) -> None: ...

    def publish(self, message: bytes) -> None: ...

    async def close(self) -> None: ...


class MemoryBroker:
    """One process: a published message goes straight to this process's subscription."""

    def __init__(self) -> None:
        self._on_message: OnMessage | None = None

    async def start(self, on_message: OnMessage, on_connected: OnConnected) -> None:
        self._on_message = on_message
        on_connected()

    def publish(self, message: bytes) -> None:
        if self._on_message is not None:
            self._on_message(message)

    async def close(self) -> None:
        self._on_message = None


class RedisBroker:
    """Redis pub/sub on one channel: one subscribing connection, one publishing connection per process."""

    def __init__(self, url: str, channel: str) -> None:
        self.url = url
        self.channel = channel
        self._outbox: deque[bytes] = deque(maxlen=OUTBOX_LIMIT)
        self._outbox_ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._client: redis.Redis | None = None
        self.connected = False

    def _new_client(self) -> redis.Redis:
        return redis.Redis.from_url(
            self.url,
            socket_connect_timeout=2,
            socket_keepalive=True,
            health_check_interval=15,
            client_name=f"switchboard:{self.channel}",
        )

    async def start(self, on_message: OnMessage, on_connected: OnConnected) -> None:
        self._client = self._new_client()
        self._tasks = [
            asyncio.create_task(self._listen(on_message, on_connected), name="broker-listen"),
            asyncio.create_task(self._send(), name="broker-send"),
        ]

    def publish(self, message: bytes) -> None:
        if len(self._outbox) == self._outbox.maxlen:
            log.warning("Redis outbox full: dropping the oldest message (subscribers catch up from the database)")
        self._outbox.append(message)
        self._outbox_ready.set()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _listen(self, on_message: OnMessage, on_connected: OnConnected) -> None:
        delay = RECONNECT_FIRST_DELAY
        while True:
            client = self._new_client()
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        # Also after redis-py reconnected by itself: messages may have been missed.
                        if not self.connected:
                            log.info("Redis subscription to %r established", self.channel)
                        self.connected = True
                        delay = RECONNECT_FIRST_DELAY
                        on_connected()
                    elif message["type"] == "message":
                        on_message(message["data"])
            except (RedisConnectionError, RedisTimeoutError, OSError) as error:
                if self.connected:
                    log.warning("Redis subscription lost (%s); reconnecting with back-off", error)
                else:
                    log.warning("Redis unreachable (%s); retrying in %.1f s", error, delay)
                self.connected = False
            finally:
                with suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves PubSub.aclose unannotated
                with suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_DELAY)

    async def _send(self) -> None:
        delay = RECONNECT_FIRST_DELAY
        assert self._client is not None
        while True:
            await self._outbox_ready.wait()
            while self._outbox:
                message = self._outbox.popleft()
                try:
                    await self._client.publish(self.channel, message)
                except (RedisConnectionError, RedisTimeoutError, OSError) as error:
                    self._outbox.appendleft(message)
                    log.warning("publishing to Redis failed (%s); retrying in %.1f s", error, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RECONNECT_MAX_DELAY)
                    continue
                delay = RECONNECT_FIRST_DELAY
            self._outbox_ready.clear()


def broker_for(redis_url: str | None, channel: str) -> Broker:
    return RedisBroker(redis_url, channel) if redis_url else MemoryBroker()
