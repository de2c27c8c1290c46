"""Inbound webhook throughput (docs/DESIGN.md §5): signed Twilio WhatsApp webhooks at PostgreSQL.

    .venv/bin/python bench/ingest.py [--seconds 30] [--senders 50] [--database-url postgres://…/postgres]

Runs, one after the other, on loopback only:
  1. a bare Starlette endpoint (uvicorn, uvloop + httptools) that checks the same Twilio signature and
     does one INSERT … ON CONFLICT DO NOTHING through asyncpg: the baseline;
  2. Switchboard itself (`app:create_app`, one uvicorn worker, uvloop + httptools).
Each gets `--senders` keep-alive connections posting for `--seconds`. Redelivery is mixed in: one
message in ten goes out five times at once (the next five posts of the senders, so the copies race
each other, as a provider's retries of a slow webhook do). Prints accepted/s (every 200, copies
included), p50/p99 latency, server CPU per request, and, counted in the database after the run, the
rows stored against the distinct messages sent and the messages answered 200: none lost (every 200'd
message stored), none doubled (one row per distinct message). Switchboard batches webhooks into
group commits (`resolvers/ingest.py`; INGEST_BATCH_SIZE, INGEST_BATCH_MS).
Each run uses a fresh database (created and dropped here) on the server of --database-url
(default: BENCH_POSTGRES_URL, else SWITCHBOARD_TEST_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import asyncpg
from twilio.request_validator import RequestValidator

from harness import (
    Server,
    connect,
    create_team,
    dsn,
    free_port,
    opened,
    percentile,
    postgres_url,
    scratch_database,
    serve_app,
    server_env,
)

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "a1b2c3d4" * 4
FROM_NUMBER = "+14155238886"
CONTACTS = 2_000
REDELIVERED_SHARE = 0.10  # of the distinct messages, each delivered REDELIVERIES times at once
REDELIVERIES = 5
# Both servers get the same connection pool (Tortoise's default is 5 connections).
POOL = "?minsize=10&maxsize=20"
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'


# ---- the baseline server (run in a child process: `bench/ingest.py --serve-bare PORT DSN`)


def serve_bare(port: int, url: str) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    validator = RequestValidator(AUTH_TOKEN)
    public = f"http://127.0.0.1:{port}"
    state: dict[str, asyncpg.Pool] = {}

    async def inbound(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True, strict_parsing=True))
        if not validator.validate(public + request.url.path, form, request.headers.get("x-twilio-signature", "")):
            return JSONResponse({"error": "bad signature"}, status_code=403)
        await state["pool"].execute(
            "INSERT INTO bare_message (sid, sender, body, created_at) VALUES ($1, $2, $3, now()) ON CONFLICT (sid) DO NOTHING",
            form["MessageSid"],
            form["From"],
            form["Body"],
        )
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def startup() -> None:
        state["pool"] = await asyncpg.create_pool(dsn(url), min_size=10, max_size=20)  # as POOL

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
        await startup()
        yield
        await state["pool"].close()

    app = Starlette(routes=[Route("/webhooks/twilio/{app_id}", inbound, methods=["POST"])], lifespan=lifespan)
    serve_app(app, port)


# ---- the load


@dataclass
class WebhookLoad:
    path: str
    public_base: str
    seconds: float
    senders: int
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    sids: set[str] = field(default_factory=set)
    accepted_sids: set[str] = field(default_factory=set)
    queued: list[tuple[bytes, str, str]] = field(default_factory=list)
    posts: int = 0
    duplicates: int = 0

    def __post_init__(self) -> None:
        self.validator = RequestValidator(AUTH_TOKEN)
        self.url = self.public_base + self.path

    def fresh(self) -> tuple[bytes, str, str]:
        sid = "SM" + secrets.token_hex(16)
        return self.signed(sid, f"+4915{random.randrange(CONTACTS):09d}", f"Hallo {sid[-6:]} 👋")

    def signed(self, sid: str, sender: str, text: str) -> tuple[bytes, str, str]:
        """Twilio's inbound WhatsApp webhook for message `sid` from `sender`: the form body, its signature, sid."""
        form = {
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "SmsStatus": "received",
            "Body": text,
            "To": f"whatsapp:{FROM_NUMBER}",
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{sender}",
            "ApiVersion": "2010-04-01",
            "WaId": sender[1:],
            "ProfileName": "Kunde",
            "MessageType": "text",
        }
        return urlencode(form).encode(), self.validator.compute_signature(self.url, form), sid

    def next_request(self) -> tuple[bytes, str]:
        if self.queued:  # a copy of a message some other sender is posting right now
            self.duplicates += 1
            body, signature, sid = self.queued.pop()
        else:
            body, signature, sid = self.fresh()
            if random.random() < REDELIVERED_SHARE:
                self.queued.extend([(body, signature, sid)] * (REDELIVERIES - 1))
        self.sids.add(sid)
        host = self.public_base.split("://", 1)[1]
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nX-Twilio-Signature: {signature}\r\nUser-Agent: TwilioProxy/1.1\r\n\r\n"
        )
        return head.encode() + body, sid

    async def sender(self, port: int, deadline: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                request, sid = self.next_request()
                started = time.perf_counter()
                writer.write(request)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                self.latencies.append(time.perf_counter() - started)
                status = int(status_line.split()[1])
                if status == 200:
                    self.accepted_sids.add(sid)
                self.statuses[status] = self.statuses.get(status, 0) + 1
                self.posts += 1
        finally:
            writer.close()

    async def run(self, port: int) -> float:
        deadline = time.perf_counter() + self.seconds
        started = time.perf_counter()
        await asyncio.gather(*(self.sender(port, deadline) for _ in range(self.senders)))
        return time.perf_counter() - started


@dataclass
class Result:
    name: str
    elapsed: float
    load: WebhookLoad
    stored: int
    lost: int
    cpu: float
    received_events: int | None = None  # Switchboard: MESSAGE_RECEIVED events, one per stored message

    def report(self) -> str:
        accepted = self.load.statuses.get(200, 0)
        p50 = percentile(self.load.latencies, 0.5) * 1000
        p99 = percentile(self.load.latencies, 0.99) * 1000
        match = "match" if self.exact else "MISMATCH"
        other = {k: v for k, v in self.load.statuses.items() if k != 200}
        return (
            f"{self.name:<28} {accepted / self.elapsed:>8.0f} accepted/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   "
            f"server CPU {self.cpu / max(accepted, 1) * 1000:.2f} ms/request   "
            f"posts {self.load.posts} (redelivered copies {self.load.duplicates})   rows {self.stored} / distinct sent "
            f"{len(self.load.sids)}, 200'd but missing {self.lost}"
            + ("" if self.received_events is None else f", MESSAGE_RECEIVED events {self.received_events}")
            + f": {match}"
            + (f"   non-200: {other}" if other else "")
        )

    @property
    def exact(self) -> bool:
        events = self.received_events is None or self.received_events == self.stored
        return self.stored == len(self.load.sids) and self.lost == 0 and events


async def measure(name: str, server: Server, load: WebhookLoad, url: str, table: str, sid: str) -> Result:
    """Runs the load at a started server; counts the rows it stored and the CPU it spent."""
    try:
        server.wait_ready()
        cpu = server.cpu_seconds()
        elapsed = await load.run(server.port)
        cpu = server.cpu_seconds() - cpu
    finally:
        server.stop()
    async with connect(url) as db:
        stored = await db.fetchval(f"SELECT count(*) FROM {table}")
        found = await db.fetchval(
            f"SELECT count(*) FROM {table} WHERE {sid} = ANY($1::text[])", list(load.accepted_sids)
        )
        events = None
        if table == "message":
            events = await db.fetchval("SELECT count(*) FROM inbox_event WHERE type = 'MESSAGE_RECEIVED'")
    return Result(name, elapsed, load, stored, len(load.accepted_sids) - found, cpu, events)


async def bench_bare(server_url: str, seconds: float, senders: int, logs: Path) -> Result:
    async with scratch_database(server_url, "sb_bench_bare") as database:
        async with connect(database.url) as db:
            await db.execute(
                "CREATE TABLE bare_message (id bigserial PRIMARY KEY, sid text UNIQUE NOT NULL, sender text, body text, created_at timestamptz)"
            )
        port = free_port()
        command = [sys.executable, __file__, "--serve-bare", str(port), database.url]
        server = Server("bare", command, port=port, env=server_env(database.url), logs=logs)
        load = WebhookLoad("/webhooks/twilio/bare", server.url, seconds, senders)
        return await measure("bare Starlette + asyncpg", server, load, database.url, "bare_message", "sid")


def switchboard_server(name: str, database_url: str, logs: Path) -> Server:
    """Switchboard (`app:create_app`, one uvicorn worker, uvloop + httptools) on a free port, with POOL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    env = server_env(database_url + POOL, PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    return Server(name, command, port=port, env=env, logs=logs)


async def bench_switchboard(server_url: str, seconds: float, senders: int, logs: Path) -> Result:
    from models import Provider
    from resolvers.ids import to_api_id

    async with scratch_database(server_url, "sb_bench_ingest") as database:
        async with opened(database.url):
            team = await create_team(
                Provider.TWILIO_WHATSAPP,
                {"accountSid": ACCOUNT_SID, "authToken": AUTH_TOKEN, "fromNumber": FROM_NUMBER},
            )
        server = switchboard_server("switchboard", database.url, logs)
        load = WebhookLoad(f"/webhooks/twilio/{to_api_id('MessagingApp', team.app.id)}", server.url, seconds, senders)
        return await measure(
            "Switchboard /webhooks/twilio", server, load, database.url, "message", "provider_message_id"
        )


async def main(args: argparse.Namespace) -> int:
    url = postgres_url(args.database_url)
    logs = Path(tempfile.mkdtemp(prefix="sb-bench-ingest-"))
    print(f"signed Twilio inbound webhooks, {args.senders} concurrent senders, {args.seconds:.0f} s each, PostgreSQL")
    bare = await bench_bare(url, args.seconds, args.senders, logs)
    print(bare.report(), flush=True)
    ours = await bench_switchboard(url, args.seconds, args.senders, logs)
    print(ours.report())
    ratio = (ours.load.statuses.get(200, 0) / ours.elapsed) / max(bare.load.statuses.get(200, 0) / bare.elapsed, 1e-9)
    print(f"Switchboard / bare: {ratio:.2f} (budget: at least 0.50, and at least 2,000 accepted/s)")
    return 0 if ours.exact and bare.exact else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-bare":
        serve_bare(int(sys.argv[2]), sys.argv[3])
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--database-url")
    import uvloop

    sys.exit(uvloop.run(main(parser.parse_args())))
