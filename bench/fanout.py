"""Real-time fan-out (docs/DESIGN.md §5): N WebSocket subscribers of `inboxEvents`, events at a steady rate.

    .venv/bin/python bench/fanout.py [--runs 100x10,1000x10,10000x10,20000x10x2] [--seconds 20]
                                     [--per-client 2500] [--profile DIR]
                                     [--database-url postgres://…] [--redis-url redis://…]

A run `NxR[xP]` is N subscribers (distinct users, all with access to the app), R events/s, P server
processes (default 1; subscribers split evenly, events enter through the first). Each server is
`switchboard serve` (one uvicorn worker, uvloop + httptools) on PostgreSQL and Redis. Events are
the admin closing and reopening a conversation through the GraphQL API (one event each; inbound
messages would also write a notification row per member, R-NOTIFY, which is not fan-out); latency is
the event's occurredAt (written in the transaction, before commit) -> payload received.

The subscribers are bare graphql-transport-ws clients in child processes of at most `--per-client`
sockets each (`--client-worker`, driven over pipes): no process reaches its open-file limit, and
the clients' CPU is never counted as the servers'. Before they connect, the same events run for 5 s
with no subscriber: each event's own cost. Prints p50/p99, events lost (expected - received, must
be 0; a server that falls behind is waited for while it makes progress), server CPU per delivery
(the servers' own utime+stime during the steady phase / deliveries; user and system apart; and
beyond each event's own cost), the clients' CPU per delivery, server memory per idle subscriber
(RSS growth / N, connection included), and the time and server CPU for N subscribers to connect.
Beside it, measured in the same run: the kernel's floor (a bare loop `send()`ing a frame of the
payload's size to 1,000 loopback sockets read by another process), and raw `redis.asyncio` pub/sub
fanned out to N asyncio queues in one process (same N and rate; plus its burst throughput).
`--profile DIR` writes py-spy profiles of the first server while connecting and delivering.
Each run uses a fresh database (created and dropped here) on the server of --database-url
(default: BENCH_POSTGRES_URL, else SWITCHBOARD_TEST_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import secrets
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as redis

from harness import (
    API_CHANNEL_SECRET,
    Server,
    create_team,
    free_port,
    opened,
    percentile,
    postgres_url,
    scratch_database,
    server_env,
    switchboard_serve,
)

DOCUMENT = """subscription { inboxEvents { cursor type conversationId occurredAt
  conversation { id status lastMessageAt assignee { id name } contact { name externalId } }
  message { id text direction createdAt } } }"""


# ---- data


async def prepare(database_url: str, subscribers: int) -> tuple[str, str, list[str]]:
    """An account, an API-channel app and `subscribers` users sharing it: (app id, admin token, tokens)."""
    from models import ApiToken, AppAccess, User
    from resolvers.clock import now
    from resolvers.ids import to_api_id
    from resolvers.viewer import TOKEN_PREFIX, digest

    async with opened(database_url):
        team = await create_team()
        created = now()
        users = [
            User(account_id=team.account_id, name=f"Member {n}", email=f"m{n}@bench.test", created_at=created)
            for n in range(subscribers)
        ]
        await User.bulk_create(users, batch_size=1000)
        users = await User.filter(account_id=team.account_id, email__startswith="m").order_by("id")
        tokens = [TOKEN_PREFIX + secrets.token_urlsafe(24) for _ in users]
        await ApiToken.bulk_create(
            [
                ApiToken(user_id=user.id, digest=digest(token), created_at=created)
                for user, token in zip(users, tokens, strict=True)
            ],
            batch_size=1000,
        )
        await AppAccess.bulk_create([AppAccess(app_id=team.app.id, user_id=user.id) for user in users], batch_size=1000)
        return to_api_id("MessagingApp", team.app.id), team.admin.token, tokens


# ---- subscribers


class Arrivals:
    """Events received by all subscribers together; `reach(n)` returns once n have arrived."""

    def __init__(self) -> None:
        self.count = 0
        self._target = 0
        self._reached = asyncio.Event()

    def add(self) -> None:
        self.count += 1
        if self.count >= self._target:
            self._reached.set()

    def reset(self) -> None:
        self.count = 0

    async def reach(self, target: int) -> None:
        self._target = target
        self._reached.clear()
        if self.count < target:
            await self._reached.wait()


@dataclass
class Subscriber:
    arrivals: Arrivals
    latencies: list[float] = field(default_factory=list)
    received: int = 0
    errors: int = 0
    size: int = 0  # bytes of the last payload


class LeanClient(asyncio.Protocol):
    """A bare graphql-transport-ws client: its cost per message is a few microseconds, so with
    thousands of subscribers in this one process the figures stay the server's, not the client's."""

    def __init__(self, stats: Subscriber) -> None:
        self.stats = stats
        self.buffer = bytearray()
        self.handshake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        for waiter in (self.handshake, self.acked):
            if not waiter.done():
                waiter.set_exception(ConnectionError("closed"))

    def send_text(self, text: str) -> None:
        self.send_frame(0x1, text.encode())

    def send_frame(self, opcode: int, data: bytes) -> None:
        mask, size = os.urandom(4), len(data)
        header = (
            bytes([0x80 | opcode, 0x80 | size])
            if size < 126
            else bytes([0x80 | opcode, 0x80 | 126]) + size.to_bytes(2, "big")
        )
        assert self.transport is not None
        self.transport.write(header + mask + bytes(byte ^ mask[i % 4] for i, byte in enumerate(data)))

    def data_received(self, data: bytes) -> None:
        arrived = time.time()
        buffer = self.buffer
        buffer += data
        if not self.handshake.done():
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.handshake.set_exception(ConnectionError(bytes(buffer[:40]).decode(errors="replace")))
                return
            del buffer[: end + 4]
            self.handshake.set_result(None)
        while len(buffer) >= 2:
            size, offset = buffer[1] & 0x7F, 2
            if size == 126:
                if len(buffer) < 4:
                    return
                size, offset = int.from_bytes(buffer[2:4], "big"), 4
            elif size == 127:
                if len(buffer) < 10:
                    return
                size, offset = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < offset + size:
                return
            opcode, payload = buffer[0] & 0x0F, bytes(buffer[offset : offset + size])
            del buffer[: offset + size]
            if opcode == 0x1:
                self.on_text(payload, arrived)
            elif opcode == 0x9:  # uvicorn's WebSocket ping: unanswered, it closes the connection
                self.send_frame(0xA, payload)

    def on_text(self, payload: bytes, arrived: float) -> None:
        at = payload.find(b'"occurredAt":"')
        if at >= 0:
            occurred = datetime.fromisoformat(payload[at + 14 : payload.index(b'"', at + 14)].decode())
            self.stats.latencies.append(arrived - occurred.timestamp())
            self.stats.size = len(payload)
            self.stats.received += 1
            self.stats.arrivals.add()
        elif b'"connection_ack"' in payload and not self.acked.done():
            self.acked.set_result(None)
        elif b'"errors"' in payload or b'"error"' in payload:
            self.stats.errors += 1
        elif b'"ping"' in payload:
            self.send_text('{"type":"pong"}')


async def subscribe(port: int, token: str, opening: asyncio.Semaphore, stats: Subscriber) -> LeanClient | None:
    try:
        async with opening:
            _, client = await asyncio.get_running_loop().create_connection(lambda: LeanClient(stats), "127.0.0.1", port)
            assert client.transport is not None
            key = base64.b64encode(os.urandom(16)).decode()
            client.transport.write(
                (
                    f"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
                ).encode()
            )
            await asyncio.wait_for(client.handshake, 120)
            client.send_text(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
            await asyncio.wait_for(client.acked, 120)
            client.send_text(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": DOCUMENT}}))
            return client
    except Exception as error:
        print(f"subscriber failed to connect: {error!r}", file=sys.stderr)
        return None


# ---- client processes: the subscribers are split over several, so that no process holds more
# sockets than its open-file limit and the clients' CPU is never counted as the server's


async def client_worker() -> None:
    """`fanout.py --client-worker`: reads {"port", "tokens", "concurrency"} as one JSON line on stdin,
    connects every subscriber, then answers one command per line with one JSON line:
    `count` (payloads received so far), `reset` (forget them), `report PATH` (latencies written to
    PATH as doubles), `close`."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 26)  # the first line carries every token
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    config = json.loads(await reader.readline())
    arrivals = Arrivals()
    stats = [Subscriber(arrivals) for _ in config["tokens"]]
    opening = asyncio.Semaphore(config["concurrency"])
    began, cpu_at_reset = time.perf_counter(), cpu_now()
    clients = await asyncio.gather(
        *(subscribe(config["port"], token, opening, s) for token, s in zip(config["tokens"], stats, strict=True))
    )
    connected = sum(client is not None for client in clients)
    answer({"connected": connected, "seconds": time.perf_counter() - began})
    while line := (await reader.readline()).decode().strip():
        command, _, argument = line.partition(" ")
        if command == "count":
            answer({"count": arrivals.count})
        elif command == "reset":
            for s in stats:
                s.latencies.clear()
                s.received = 0
            arrivals.reset()
            cpu_at_reset = cpu_now()
            answer({})
        elif command == "report":
            latencies = array("d", (value for s in stats for value in s.latencies))
            Path(argument).write_bytes(latencies.tobytes())  # noqa: ASYNC240  # the run is over
            received = sum(s.received for s in stats)
            size = max(s.size for s in stats)
            cpu = cpu_now() - cpu_at_reset
            answer({"received": received, "errors": sum(s.errors for s in stats), "size": size, "cpu": cpu})
        elif command == "close":
            break
    for client in clients:
        if client is not None and client.transport is not None:
            client.transport.close()
    answer({})


def cpu_now() -> float:
    """This process's user + system CPU seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def answer(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class ClientProcess:
    """One `--client-worker` child and its line protocol."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, port: int, tokens: list[str], concurrency: int) -> ClientProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--client-worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        client = cls(process)
        client.write(json.dumps({"port": port, "tokens": tokens, "concurrency": concurrency}))
        return client

    def write(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")

    async def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            raise ConnectionError("a bench client process exited")  # not SystemExit: `close` suppresses it
        return json.loads(line)

    async def ask(self, command: str) -> dict[str, Any]:
        self.write(command)
        return await self.read()

    async def close(self) -> None:
        if self.process.returncode is None:
            with suppress(Exception):
                await asyncio.wait_for(self.ask("close"), 30)
            with suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()


class Clients:
    """Every client process of a run, asked together."""

    def __init__(self, processes: list[ClientProcess]) -> None:
        self.processes = processes

    async def ask(self, command: str) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(process.ask(command) for process in self.processes)))

    async def reach(self, target: int, within: float) -> int:
        """Polls until `target` payloads arrived in all, or none arrived for `within` s; the count.
        (A server that fell behind is waited for while it makes progress: what never comes is lost.)"""
        count, progress = -1, time.monotonic()
        while True:
            now = sum(reply["count"] for reply in await self.ask("count"))
            if now > count:
                count, progress = now, time.monotonic()
            if count >= target or time.monotonic() - progress > within:
                return count
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        await asyncio.gather(*(process.close() for process in self.processes))


# ---- events: the admin closes and reopens the conversation (one event each, no notifications:
# R-NOTIFY rows for every member on each inbound message would measure notifications, not fan-out)


async def open_conversation(client: httpx.AsyncClient, app_id: str, admin_token: str) -> str:
    from providers.api_channel import sign

    body = json.dumps(
        {"messageId": "bench-1", "sender": {"id": "bench-contact", "name": "Carla"}, "text": "hello"}
    ).encode()
    response = await client.post(
        f"/webhooks/api/{app_id}",
        content=body,
        headers={"Content-Type": "application/json", "X-Switchboard-Signature": sign(API_CHANNEL_SECRET, body)},
    )
    response.raise_for_status()
    page = await graphql(client, admin_token, "{ conversations(section: UNASSIGNED) { edges { node { id } } } }")
    return page["conversations"]["edges"][0]["node"]["id"]


async def graphql(client: httpx.AsyncClient, token: str, query: str, variables: dict[str, str] | None = None) -> dict:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers={"Authorization": f"Bearer {token}"}
    )
    body = response.json()
    if body.get("errors"):
        raise SystemExit(f"GraphQL error: {body['errors']}")
    return body["data"]


async def toggle(client: httpx.AsyncClient, token: str, conversation_id: str, number: int) -> None:
    mutation = "closeConversation" if number % 2 == 0 else "reopenConversation"
    await graphql(client, token, f"mutation($id: ID!) {{ {mutation}(id: $id) {{ id }} }}", {"id": conversation_id})


async def at_rate(rate: float, count: int, action: Callable[[int], Awaitable[object]]) -> None:
    """`action(n)` for n in 0..count-1, started `rate` times a second (each awaited: in order)."""
    start = time.monotonic()
    for n in range(count):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await action(n)


async def steady(
    client: httpx.AsyncClient, token: str, conversation_id: str, rate: float, seconds: float, first: int
) -> int:
    count = int(rate * seconds)
    await at_rate(rate, count, lambda n: toggle(client, token, conversation_id, first + n))  # close, reopen, ...
    return count


# ---- the raw redis.asyncio baseline


async def raw_redis(redis_url: str, subscribers: int, rate: float, seconds: float) -> tuple[float, float, int, float]:
    """One pub/sub connection fanned out to `subscribers` asyncio queues: (p50, p99, lost, burst deliveries/s)."""
    channel = f"bench-raw-{secrets.token_hex(4)}"
    queues: list[asyncio.Queue[bytes]] = [asyncio.Queue() for _ in range(subscribers)]
    latencies: list[float] = []
    arrivals = Arrivals()

    async def consumer(queue: asyncio.Queue[bytes]) -> None:
        while True:
            data = await queue.get()
            if data.startswith(b"t0="):
                latencies.append(time.time() - float(data[3:]))
                arrivals.add()
            elif data == b"burst":
                arrivals.add()

    sub = redis.Redis.from_url(redis_url)
    pub = redis.Redis.from_url(redis_url)
    pubsub = sub.pubsub()
    await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=1)

    async def reader() -> None:
        async for message in pubsub.listen():
            if message["type"] == "message":
                for queue in queues:
                    queue.put_nowait(message["data"])

    tasks = [asyncio.create_task(consumer(queue)) for queue in queues] + [asyncio.create_task(reader())]
    count = int(rate * seconds)
    await at_rate(rate, count, lambda n: pub.publish(channel, f"t0={time.time():.6f}"))
    with suppress(TimeoutError):
        await asyncio.wait_for(arrivals.reach(count * subscribers), 10)
    lost = count * subscribers - arrivals.count
    burst_events = max(1, 200_000 // subscribers)
    arrivals.reset()
    burst_target = burst_events * subscribers
    began = time.perf_counter()
    for _ in range(burst_events):
        await pub.publish(channel, "burst")
    await asyncio.wait_for(arrivals.reach(burst_target), 60)
    burst_rate = burst_target / (time.perf_counter() - began)
    for task in tasks:
        task.cancel()
    await pubsub.aclose()
    await sub.aclose()
    await pub.aclose()
    return percentile(latencies, 0.5), percentile(latencies, 0.99), lost, burst_rate


# ---- the kernel's share: one send() per subscriber and event is the floor of any server on one core


def drain_worker(port: int, count: int) -> None:
    """`fanout.py --drain-worker PORT N`: N loopback connections to PORT, read until each is closed."""
    selector = selectors.DefaultSelector()
    for _ in range(count):
        connection = socket.create_connection(("127.0.0.1", port))
        connection.setblocking(False)
        selector.register(connection, selectors.EVENT_READ)
    open_ = count
    while open_:
        for key, _ in selector.select():
            connection = key.fileobj
            assert isinstance(connection, socket.socket)
            with suppress(BlockingIOError):
                if not connection.recv(1 << 16):
                    selector.unregister(connection)
                    connection.close()
                    open_ -= 1


def kernel_floor(size: int, sockets: int = 1000, rounds: int = 100) -> tuple[float, float]:
    """(user, system) CPU in seconds per send() of one `size`-byte frame to each of `sockets` loopback
    TCP connections read by another process, `rounds` times: what the server's kernel does per delivery
    (on loopback it also does the receiving side's TCP work) plus Python's cheapest call."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=sockets)
    drain = subprocess.Popen([sys.executable, __file__, "--drain-worker", str(listener.getsockname()[1]), str(sockets)])
    accepted = [listener.accept()[0] for _ in range(sockets)]
    for connection in accepted:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.setblocking(False)
    frame = bytes((0x81, 126)) + size.to_bytes(2, "big") + b"x" * size
    before = resource.getrusage(resource.RUSAGE_THREAD)
    sent = 0
    for _ in range(rounds):
        for connection in accepted:
            with suppress(BlockingIOError):
                connection.send(frame)
                sent += 1
        time.sleep(0.005)  # the reader catches up, as clients do between events
    after = resource.getrusage(resource.RUSAGE_THREAD)
    for connection in accepted:
        connection.close()
    listener.close()
    drain.wait()
    return (after.ru_utime - before.ru_utime) / sent, (after.ru_stime - before.ru_stime) / sent


# ---- one run


def cpu_split(server: Server) -> tuple[float, float]:
    """The server's (user, system) CPU seconds so far (Linux /proc)."""
    fields = Path(f"/proc/{server.process.pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) / os.sysconf("SC_CLK_TCK"), int(fields[12]) / os.sysconf("SC_CLK_TCK")


def profiler(server: Server, profile: Path | None, phase: str) -> subprocess.Popen[bytes] | None:
    """`py-spy record` of the server (native frames too) while a phase runs, if --profile DIR."""
    if profile is None:
        return None
    command = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(server.process.pid), "--native"]
    command += ["--rate", "250", "--format", "raw", "--output", str(profile / f"{server.name}-{phase}.txt")]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profiler(recording: subprocess.Popen[bytes] | None) -> None:
    if recording is not None:
        recording.send_signal(signal.SIGINT)
        recording.wait()


async def run(
    spec: str, seconds: float, admin_url: str, redis_url: str, logs: Path, per_client: int, profile: Path | None
) -> None:
    parts = [int(part) for part in spec.split("x")]
    subscribers, rate, processes = parts[0], parts[1], parts[2] if len(parts) > 2 else 1
    async with scratch_database(admin_url, "sb_bench_fanout") as database:
        app_id, admin_token, tokens = await prepare(database.url, subscribers)
        env = server_env(database.url, REDIS_URL=redis_url, REDIS_CHANNEL=f"bench-{database.name}")
        servers: list[Server] = []
        clients = Clients([])
        try:
            for number in range(processes):
                port = free_port()
                servers.append(
                    Server(f"{database.name}-{number}", switchboard_serve(port), port=port, env=env, logs=logs)
                )
            for server in servers:
                server.wait_ready()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{servers[0].port}", timeout=30) as client:
                conversation_id = await open_conversation(client, app_id, admin_token)
                # The same events with no subscriber: what each costs the servers whoever listens
                # (the mutation, the hub reading it back), so the cost per delivery can be told apart.
                quiet_before = sum(server.cpu_seconds() for server in servers)
                quiet_events = await steady(client, admin_token, conversation_id, rate, min(seconds, 5), first=0)
                quiet = (sum(server.cpu_seconds() for server in servers) - quiet_before) / quiet_events
                baseline_rss = [server.rss_bytes() for server in servers]
                # Each server's subscribers split over client processes of at most `per_client` sockets.
                chunks = -(-subscribers // (per_client * processes)) * processes
                share = [tokens[number::chunks] for number in range(chunks)]
                recording = profiler(servers[0], profile, f"connect-{subscribers}")
                connect_cpu = sum(server.cpu_seconds() for server in servers)
                began = time.perf_counter()
                clients = Clients(
                    await asyncio.gather(
                        *(
                            ClientProcess.start(servers[number % processes].port, chunk, max(1, 50 // chunks))
                            for number, chunk in enumerate(share)
                        )
                    )
                )
                ready = [await process.read() for process in clients.processes]
                connect_seconds = time.perf_counter() - began
                connect_cpu = sum(server.cpu_seconds() for server in servers) - connect_cpu
                stop_profiler(recording)
                connected = sum(reply["connected"] for reply in ready)
                if connected < len(tokens):
                    raise SystemExit(f"only {connected} of {len(tokens)} subscribers connected")
                # Every subscription is registered once a probe event reached every subscriber.
                await toggle(client, admin_token, conversation_id, quiet_events)
                if await clients.reach(subscribers, 60) < subscribers:
                    raise SystemExit("the probe event did not reach every subscriber")
                idle_rss = [server.rss_bytes() for server in servers]
                # The same subscribers with no event: what keeping them costs a second (keep-alive
                # pings and their pongs, the rights re-check), counted in the CPU per delivery below.
                idle_before = sum(server.cpu_seconds() for server in servers)
                idle_seconds = min(seconds, 5)
                await asyncio.sleep(idle_seconds)
                idle_cpu = (sum(server.cpu_seconds() for server in servers) - idle_before) / idle_seconds
                await clients.ask("reset")
                recording = profiler(servers[0], profile, f"deliver-{subscribers}")
                split_before = [cpu_split(server) for server in servers]
                cpu_before = sum(server.cpu_seconds() for server in servers)
                sent = await steady(client, admin_token, conversation_id, rate, seconds, first=quiet_events + 1)
                await clients.reach(sent * subscribers, 15)
                cpu = sum(server.cpu_seconds() for server in servers) - cpu_before
                split = [cpu_split(server) for server in servers]
                stop_profiler(recording)
                user = sum(after[0] - before[0] for before, after in zip(split_before, split, strict=True))
                system = sum(after[1] - before[1] for before, after in zip(split_before, split, strict=True))
            latencies = array("d")
            reports = []
            for number, process in enumerate(clients.processes):
                path = logs / f"{database.name}-latencies-{number}"
                reports.append(await process.ask(f"report {path}"))
                latencies.frombytes(path.read_bytes())
                path.unlink()
            await clients.close()
            delivered = sum(report["received"] for report in reports)
            lost = sent * subscribers - delivered
            per_subscriber = (sum(idle_rss) - sum(baseline_rss)) / subscribers
            raw = await raw_redis(redis_url, subscribers, rate, min(seconds, 10))
            size = max(report["size"] for report in reports)
            client_cpu = sum(report["cpu"] for report in reports)
            floor = kernel_floor(size, min(subscribers, 1000))
            print(
                f"{subscribers:>6} subscribers x {rate:>3} events/s on {processes} server process(es), "
                f"{len(clients.processes)} client process(es), {sent} events: "
                f"p50 {percentile(latencies, 0.5) * 1000:7.1f} ms  p99 {percentile(latencies, 0.99) * 1000:7.1f} ms  "
                f"lost {lost}  errors {sum(report['errors'] for report in reports)}  "
                f"server CPU/delivery {cpu / max(delivered, 1) * 1e6:6.1f} us  memory/idle subscriber {per_subscriber / 1024:6.1f} KB"
            )
            per = 1e6 / max(delivered, 1)
            marginal = (cpu - quiet * sent) * per
            print(
                f"{'':>6} server CPU per event with no subscriber {quiet * 1e3:.2f} ms (the mutation, the hub's read); "
                f"beyond it, per delivery: {marginal:5.1f} us (rendering once per group, writing to every socket)"
            )
            print(
                f"{'':>6} server CPU with {subscribers} subscribers and no event: {idle_cpu * 1e3:.1f} ms a second "
                f"(keep-alive, rights re-check; about {idle_cpu * seconds * per:4.1f} us "
                f"of each delivery above)"
            )
            print(
                f"{'':>6} server CPU/delivery: user {user * per:5.1f} us + system {system * per:5.1f} us "
                f"(payload {size} bytes); the clients' CPU per delivery: {client_cpu * per:5.1f} us; the floor, send() of such a frame to {min(subscribers, 1000)} loopback "
                f"sockets from a bare loop: user {floor[0] * 1e6:4.1f} us + system {floor[1] * 1e6:4.1f} us"
            )
            print(
                f"{'':>6} connect: {subscribers} subscribers signed in (connection_ack) in {connect_seconds:.2f} s "
                f"(client processes starting included), server CPU {connect_cpu / subscribers * 1e3:.2f} ms per connection"
            )
            print(
                f"{'':>6} raw redis.asyncio -> {subscribers} asyncio queues, same rate: "
                f"p50 {raw[0] * 1000:7.2f} ms  p99 {raw[1] * 1000:7.2f} ms  lost {raw[2]}  burst {raw[3]:,.0f} deliveries/s",
                flush=True,
            )
        finally:
            try:
                await clients.close()
            finally:
                for server in servers:
                    server.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="100x10,1000x10,10000x10,20000x10x2")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--per-client", type=int, default=2500, help="subscribers per client process at most")
    parser.add_argument(
        "--profile", type=Path, help="a folder: py-spy profiles of the first server per phase (pip install py-spy)"
    )
    parser.add_argument("--database-url", default=postgres_url())
    parser.add_argument(
        "--redis-url", default=os.environ.get("SWITCHBOARD_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
    )
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="sb-bench-fanout-"))
    print(f"fan-out of inboxEvents; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    for spec in args.runs.split(","):
        await run(spec, args.seconds, args.database_url, args.redis_url, logs, args.per_client, args.profile)
    print(f"load average {os.getloadavg()[0]:.2f} at the end (other processes share these cores)")


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if sys.argv[1:2] == ["--drain-worker"]:
        drain_worker(int(sys.argv[2]), int(sys.argv[3]))
    else:
        asyncio.run(client_worker() if sys.argv[1:] == ["--client-worker"] else main())
