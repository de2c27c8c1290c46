"""Several processes through Redis, and Redis failing while events flow."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import redis.asyncio as redis

from providers.api_channel import sign
from settings import Settings
from tests.processes import command_env, free_port, switchboard
from tests.realtime_support import SESSION_CHANNEL, Server, Socket, serving
from tests.support import Api, ApiApp


async def texts_of(socket: Socket, op: str, count: int) -> list[str]:
    return [event["message"]["text"] for event in await socket.events(op, count) if event["message"]]


async def receive_all(app: ApiApp, texts: list[str]) -> None:
    for text in texts:
        await app.receive("cust-1", text)


@pytest.fixture
def broker_url(redis_url: str) -> str:
    return redis_url


async def test_subscriber_on_one_process_gets_what_another_process_changes(
    api: Api, server: Server, database: str, db: str, redis_url: str, tmp_path: Path
) -> None:
    admin = await api.create_account()
    bea = await api.create_user(admin, "Bea Member")
    app = await api.install_api_app(admin, share_with=[bea])
    env = command_env(database, REDIS_URL=redis_url, REDIS_CHANNEL=SESSION_CHANNEL)
    env["SECRET_KEY"] = "test-secret-key"  # the key the app's credentials were encrypted with
    with switchboard("serve", env=env, cwd=tmp_path) as other:
        async with Socket.opened(server, bea.token) as socket, httpx.AsyncClient(base_url=other.url) as client:
            op = await socket.subscribe()
            body = json.dumps(
                {"messageId": "m-1", "sender": {"id": "cust-1"}, "text": "through the other process"}
            ).encode()
            answer = await client.post(
                f"/webhooks/api/{app.id}",
                content=body,
                headers={"Content-Type": "application/json", "X-Switchboard-Signature": sign(app.secret, body)},
            )
            assert answer.status_code == 200, answer.text
            created, received = await socket.events(op, 2)

    assert created["type"] == "CONVERSATION_CREATED"
    assert received["message"]["text"] == "through the other process"


class OwnRedis:
    """A redis-server of this test, on its own port, that the test stops and starts again."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tmp_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def ready(self) -> None:
        client = redis.Redis.from_url(self.url)
        try:
            for _ in range(200):
                try:
                    await client.ping()
                    return
                except (redis.ConnectionError, OSError):
                    await asyncio.sleep(0.025)
            raise AssertionError("redis-server did not start")
        finally:
            await client.aclose()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    own = OwnRedis(tmp_path)
    own.start()
    yield own
    own.stop()


@pytest.fixture
async def own_redis_server(api: Api, server_settings: Settings, own_redis: OwnRedis) -> AsyncIterator[Server]:
    await own_redis.ready()
    async with serving(replace(server_settings, redis_url=own_redis.url)) as running:
        yield running


async def test_redis_restarting_while_events_flow_loses_and_doubles_nothing(
    api: Api, own_redis: OwnRedis, own_redis_server: Server
) -> None:
    server = own_redis_server
    admin = await api.create_account()
    app = await api.install_api_app(admin)
    async with Socket.opened(server, admin.token) as live:
        live_op = await live.subscribe()
        async with Socket.opened(server, admin.token) as leaving:
            leaving_op = await leaving.subscribe()
            await receive_all(app, ["one", "two"])
            seen = await leaving.events(leaving_op, 3)
        assert await texts_of(live, live_op, 3) == ["one", "two"]

        own_redis.stop()
        await receive_all(app, ["three", "four"])  # webhooks keep working while Redis is down
        own_redis.start()
        await own_redis.ready()
        await receive_all(app, ["five"])
        live_texts = await texts_of(live, live_op, 3)

    async with Socket.opened(server, admin.token) as back:
        back_op = await back.subscribe(variables={"after": seen[-1]["cursor"]})
        resumed = await texts_of(back, back_op, 3)
        await receive_all(app, ["six"])
        resumed += await texts_of(back, back_op, 1)

    assert live_texts == ["three", "four", "five"]
    assert resumed == ["three", "four", "five", "six"]


async def test_killed_redis_connections_are_reestablished_and_nothing_is_lost(
    api: Api, server: Server, redis_url: str
) -> None:
    admin = await api.create_account()
    app = await api.install_api_app(admin)
    async with Socket.opened(server, admin.token) as socket:
        op = await socket.subscribe()
        await receive_all(app, ["before"])
        assert await texts_of(socket, op, 2) == ["before"]
        killer = redis.Redis.from_url(redis_url)
        try:
            killed = 0
            for client in await killer.client_list():
                if client.get("name") == f"switchboard:{SESSION_CHANNEL}":
                    await killer.execute_command("CLIENT", "KILL", "ID", client["id"])
                    killed += 1
        finally:
            await killer.aclose()
        await receive_all(app, ["during", "after"])
        texts = await texts_of(socket, op, 2)

    assert killed >= 1
    assert texts == ["during", "after"]
