"""Inbound webhook throughput (docs/DESIGN.md §5): signed Twilio WhatsApp webhooks at PostgreSQL.

    .venv/bin/python bench/ingest.py [--seconds 30] [--senders 50] [--database-url postgres://…/postgres]

Runs, one after the other, on loopback only:
  1. a bare Starlette endpoint (uvicorn, uvloop + httptools) that checks the same Twilio signature and
     does one INSERT … ON CONFLICT DO NOTHING through asyncpg: the baseline;
  2. Switchboard itself (`app:create_app`, one uvicorn worker, uvloop + httptools).
Each gets `--senders` keep-alive connections posting for `--seconds`; about 10 % of the posts repeat an
earlier MessageSid (Twilio's retries, often while the first is still in flight). Prints accepted/s,
p50/p99 latency, and rows stored vs distinct messages sent (which must match exactly).
Each run uses a fresh database (created and dropped here) on the server of --database-url
(default: SWITCHBOARD_TEST_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import asyncpg
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "a1b2c3d4" * 4
FROM_NUMBER = "+14155238886"
CONTACTS = 2_000
DUPLICATE_SHARE = 0.10
# Both servers get the same connection pool (Tortoise's default is 5 connections).
POOL = "?minsize=10&maxsize=20"
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used (Linux /proc): load-independent cost per request."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def asyncpg_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


async def create_database(admin_url: str, name: str) -> str:
    await drop_database(admin_url, name)
    admin = await asyncpg.connect(asyncpg_url(admin_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return with_database(admin_url, name)


async def drop_database(admin_url: str, name: str) -> None:
    admin = await asyncpg.connect(asyncpg_url(admin_url))
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


# ---- the baseline server (run in a child process: `bench/ingest.py --serve-bare PORT DSN`)


def serve_bare(port: int, dsn: str) -> None:
    import uvicorn
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
            form["MessageSid"], form["From"], form["Body"],
        )
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def startup() -> None:
        state["pool"] = await asyncpg.create_pool(asyncpg_url(dsn), min_size=10, max_size=20)  # as POOL

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
        await startup()
        yield
        await state["pool"].close()

    app = Starlette(routes=[Route("/webhooks/twilio/{app_id}", inbound, methods=["POST"])], lifespan=lifespan)
    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", log_level="warning", access_log=False)


# ---- the load


@dataclass
class Load:
    path: str
    public_base: str
    seconds: float
    senders: int
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    sids: set[str] = field(default_factory=set)
    recent: list[bytes] = field(default_factory=list)
    posts: int = 0
    duplicates: int = 0

    def __post_init__(self) -> None:
        self.validator = RequestValidator(AUTH_TOKEN)
        self.url = self.public_base + self.path

    def fresh(self) -> tuple[bytes, str, str]:
        sid = "SM" + secrets.token_hex(16)
        sender = f"+4915{random.randrange(CONTACTS):09d}"
        form = {
            "SmsMessageSid": sid, "NumMedia": "0", "SmsSid": sid, "SmsStatus": "received", "Body": f"Hallo {sid[-6:]} 👋",
            "To": f"whatsapp:{FROM_NUMBER}", "NumSegments": "1", "MessageSid": sid, "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{sender}", "ApiVersion": "2010-04-01", "WaId": sender[1:], "ProfileName": "Kunde",
            "MessageType": "text",
        }
        return urlencode(form).encode(), self.validator.compute_signature(self.url, form), sid

    def next_request(self) -> tuple[bytes, str]:
        if self.recent and random.random() < DUPLICATE_SHARE:
            self.duplicates += 1
            body, signature, sid = random.choice(self.recent)  # type: ignore[misc]
        else:
            body, signature, sid = self.fresh()
            self.recent.append((body, signature, sid))  # type: ignore[arg-type]
            if len(self.recent) > 200:
                self.recent.pop(0)
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
                request, _ = self.next_request()
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
                self.statuses[status] = self.statuses.get(status, 0) + 1
                self.posts += 1
        finally:
            writer.close()

    async def run(self, port: int) -> float:
        deadline = time.perf_counter() + self.seconds
        started = time.perf_counter()
        await asyncio.gather(*(self.sender(port, deadline) for _ in range(self.senders)))
        return time.perf_counter() - started


async def wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not start")


@dataclass
class Result:
    name: str
    elapsed: float
    load: Load
    stored: int
    cpu: float

    def report(self) -> str:
        accepted = self.load.statuses.get(200, 0)
        latencies = sorted(self.load.latencies)
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
        match = "match" if self.stored == len(self.load.sids) else "MISMATCH"
        other = {k: v for k, v in self.load.statuses.items() if k != 200}
        return (
            f"{self.name:<28} {accepted / self.elapsed:>8.0f} accepted/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   "
            f"server CPU {self.cpu / max(accepted, 1) * 1000:.2f} ms/request   "
            f"posts {self.load.posts} (duplicates {self.load.duplicates})   rows {self.stored} / distinct sent "
            f"{len(self.load.sids)}: {match}" + (f"   non-200: {other}" if other else "")
        )


async def measure(name: str, process: subprocess.Popen[bytes], port: int, load: Load, dsn: str, table: str) -> Result:
    """Runs the load at a started server; counts the rows it stored and the CPU it spent."""
    await wait_listening(port, process)
    cpu = cpu_seconds(process.pid)
    elapsed = await load.run(port)
    cpu = cpu_seconds(process.pid) - cpu
    db = await asyncpg.connect(asyncpg_url(dsn))
    stored = await db.fetchval(f"SELECT count(*) FROM {table}")
    await db.close()
    return Result(name, elapsed, load, stored, cpu)


async def bench_bare(admin_url: str, seconds: float, senders: int) -> Result:
    name = f"sb_bench_bare_{os.getpid()}"
    dsn = await create_database(admin_url, name)
    db = await asyncpg.connect(asyncpg_url(dsn))
    await db.execute("CREATE TABLE bare_message (id bigserial PRIMARY KEY, sid text UNIQUE NOT NULL, sender text, body text, created_at timestamptz)")
    await db.close()
    port = free_port()
    process = subprocess.Popen([sys.executable, __file__, "--serve-bare", str(port), dsn], cwd=ROOT)
    try:
        load = Load("/webhooks/twilio/bare", f"http://127.0.0.1:{port}", seconds, senders)
        return await measure("bare Starlette + asyncpg", process, port, load, dsn, "bare_message")
    finally:
        process.terminate()
        process.wait()
        await drop_database(admin_url, name)


async def prepare_switchboard(dsn: str, env: dict[str, str]) -> str:
    """Migrates the database and installs one WhatsApp app; returns its API id."""
    sys.path.insert(0, str(ROOT))
    from settings import Settings, use_settings

    use_settings(Settings.from_env(env))
    from models import Provider
    from models.db import close_database, migrate, open_database
    from resolvers.apps import install_messaging_app
    from resolvers.ids import to_api_id
    from resolvers.users import create_account
    from resolvers.viewer import Viewer

    await migrate(dsn)
    await open_database(dsn)
    try:
        _, admin = await create_account("Bench GmbH", "Bea Bench", "bea@bench.test")
        app = await install_messaging_app(
            Viewer(admin.user), Provider.TWILIO_WHATSAPP, "WhatsApp",
            {"accountSid": ACCOUNT_SID, "authToken": AUTH_TOKEN, "fromNumber": FROM_NUMBER},
        )
        return to_api_id("MessagingApp", app.id)
    finally:
        await close_database()


async def bench_switchboard(admin_url: str, seconds: float, senders: int) -> Result:
    name = f"sb_bench_ingest_{os.getpid()}"
    dsn = await create_database(admin_url, name)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": dsn + POOL,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "SECRET_KEY": "bench-secret",
        "SWITCHBOARD_ENV": "development",
    }
    env.pop("REDIS_URL", None)
    process = None
    try:
        app_id = await prepare_switchboard(dsn, env)
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "app:create_app", "--host", "127.0.0.1", "--port", str(port),
             "--loop", "uvloop", "--http", "httptools", "--log-level", "warning", "--no-access-log"],
            cwd=ROOT, env=env,
        )
        load = Load(f"/webhooks/twilio/{app_id}", f"http://127.0.0.1:{port}", seconds, senders)
        return await measure("Switchboard /webhooks/twilio", process, port, load, dsn, "message")
    finally:
        if process is not None:
            process.terminate()
            process.wait()
        await drop_database(admin_url, name)


async def main(args: argparse.Namespace) -> int:
    url = args.database_url or os.environ.get("SWITCHBOARD_TEST_POSTGRES_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    print(f"signed Twilio inbound webhooks, {args.senders} concurrent senders, {args.seconds:.0f} s each, PostgreSQL")
    bare = await bench_bare(url, args.seconds, args.senders)
    print(bare.report(), flush=True)
    ours = await bench_switchboard(url, args.seconds, args.senders)
    print(ours.report())
    ratio = (ours.load.statuses.get(200, 0) / ours.elapsed) / max(bare.load.statuses.get(200, 0) / bare.elapsed, 1e-9)
    print(f"Switchboard / bare: {ratio:.2f} (budget: at least 0.50, and at least 500 accepted/s)")
    exact = ours.stored == len(ours.load.sids) and bare.stored == len(bare.load.sids)
    return 0 if exact else 1


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
