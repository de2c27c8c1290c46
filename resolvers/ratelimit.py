"""Failure counters shared by every process (R-SIGNIN): in Redis when REDIS_URL is set, else in the
database (`rate_counter`). A fixed window per key: the first failure opens it for
SIGN_IN_WINDOW_SECONDS, and a key whose count reached its limit is refused until the window ends.
Keys are digests: neither store holds an email address or a client address in clear."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from datetime import timedelta

import redis.asyncio as redis
from redis.exceptions import RedisError
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from models import RateCounter
from resolvers import clock
from settings import get_settings

log = logging.getLogger(__name__)


def key(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()[:40]}"


# ---- the database


async def _db_retry_after(name: str, limit: int) -> int | None:
    now = clock.now()
    row = await RateCounter.get_or_none(key=name, window_ends__gt=now)
    if row is None or row.count < limit:
        return None
    return max(1, math.ceil((row.window_ends - now).total_seconds()))


async def _db_count(name: str) -> None:
    now = clock.now()
    ends = now + timedelta(seconds=get_settings().sign_in_window_seconds)
    if await RateCounter.filter(key=name, window_ends__gt=now).update(count=F("count") + 1):
        return
    if await RateCounter.filter(key=name, window_ends__lte=now).update(count=1, window_ends=ends):
        return
    try:
        await RateCounter.create(key=name, count=1, window_ends=ends)
    except IntegrityError:  # another process opened the window a moment ago
        await RateCounter.filter(key=name).update(count=F("count") + 1)


async def _db_clear(name: str) -> None:
    await RateCounter.filter(key=name).delete()


# ---- Redis

_clients: dict[tuple[str, int], redis.Redis] = {}


def _redis() -> tuple[redis.Redis, str] | None:
    settings = get_settings()
    if not settings.redis_url:
        return None
    slot = (settings.redis_url, id(asyncio.get_running_loop()))
    if slot not in _clients:
        _clients[slot] = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    return _clients[slot], f"{settings.redis_channel}:limit:"


async def retry_after(name: str, limit: int) -> int | None:
    """Seconds until `name` may fail again, or None while it is under `limit`."""
    found = _redis()
    if found is not None:
        client, prefix = found
        try:
            async with client.pipeline(transaction=False) as pipe:
                pipe.get(prefix + name)
                pipe.pttl(prefix + name)
                count, ttl = await pipe.execute()
        except RedisError:
            log.warning("Redis unreachable: counting sign-in failures in the database meanwhile")
        else:
            if count is None or int(count) < limit:
                return None
            return max(1, math.ceil(int(ttl) / 1000)) if int(ttl) > 0 else 1
    return await _db_retry_after(name, limit)


async def count_failure(name: str) -> None:
    found = _redis()
    if found is not None:
        client, prefix = found
        try:
            async with client.pipeline(transaction=True) as pipe:
                pipe.incr(prefix + name)
                pipe.expire(prefix + name, get_settings().sign_in_window_seconds, nx=True)
                await pipe.execute()
            return
        except RedisError:
            log.warning("Redis unreachable: counting sign-in failures in the database meanwhile")
    await _db_count(name)


async def clear(name: str) -> None:
    found = _redis()
    if found is not None:
        client, prefix = found
        try:
            await client.delete(prefix + name)
        except RedisError:
            log.warning("Redis unreachable: a sign-in's failure counter is left to expire")
    await _db_clear(name)
