"""What the benchmarks share: a scratch PostgreSQL database, a team to seed it with, servers in child
processes on loopback ports (with their CPU time and memory), HTTP load, percentiles.

Each bench script imports it as `harness` (it sits beside them); this checkout's modules come first
on `sys.path`, so a bench measures the code it stands in.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models import MessagingApp, Provider  # noqa: E402
from models.db import close_database, migrate, open_database  # noqa: E402
from resolvers.apps import install_messaging_app  # noqa: E402
from resolvers.users import CreatedUser, create_account  # noqa: E402
from resolvers.viewer import Viewer  # noqa: E402
from settings import Settings, use_settings  # noqa: E402

SWITCHBOARD = str(Path(sys.executable).parent / "switchboard")
SECRET_KEY = "bench-secret-key"
API_CHANNEL_SECRET = "bench-secret-bench-secret"
API_CHANNEL = {"secret": API_CHANNEL_SECRET, "deliveryUrl": "http://127.0.0.1:9/x"}  # replies go nowhere


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# ---------------------------------------------------------------- the database


def postgres_url(given: str | None = None) -> str:
    """The PostgreSQL server the scratch databases are made on (any database of it)."""
    url = given or os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("SWITCHBOARD_TEST_POSTGRES_URL")
    return url or "postgres://postgres@127.0.0.1:5432/postgres"


def dsn(url: str) -> str:
    """asyncpg's spelling of a Tortoise database URL."""
    return url.replace("postgres://", "postgresql://", 1)


@asynccontextmanager
async def connect(url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(dsn(url))
    try:
        yield connection
    finally:
        await connection.close()


@dataclass(frozen=True)
class Database:
    server: str
    name: str

    @property
    def url(self) -> str:
        return f"{self.server.rpartition('/')[0]}/{self.name}"


async def create_database(server: str, prefix: str) -> Database:
    database = Database(server, f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}")
    async with connect(server) as connection:
        await connection.execute(f'CREATE DATABASE "{database.name}"')
    return database


async def drop_database(database: Database) -> None:
    async with connect(database.server) as connection:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')


@asynccontextmanager
async def scratch_database(server: str, prefix: str) -> AsyncIterator[Database]:
    database = await create_database(server, prefix)
    try:
        yield database
    finally:
        await drop_database(database)


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[None]:
    """The database migrated and open to Switchboard's models, with the servers' SECRET_KEY."""
    use_settings(Settings(database_url=url, secret_key=SECRET_KEY))
    await migrate(url)
    await open_database(url)
    try:
        yield
    finally:
        await close_database()


@dataclass
class Team:
    account_id: int
    admin: CreatedUser
    app: MessagingApp

    @property
    def boss(self) -> Viewer:
        return Viewer(self.admin.user)


async def create_team(provider: Provider = Provider.API, credentials: dict[str, str] = API_CHANNEL) -> Team:
    """An account, its admin Ana and one messaging app (inside `opened`)."""
    account, admin = await create_account("Bench", "Ana Admin", "ana@bench.test")
    app = await install_messaging_app(Viewer(admin.user), provider, "Bench chat", credentials)
    return Team(account.id, admin, app)


# ---------------------------------------------------------------- servers


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    """This environment without Redis or SMTP, aimed at `database_url`, with `extra` on top."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL", "SMTP_URL")}
    env.update(DATABASE_URL=database_url, SECRET_KEY=SECRET_KEY, SWITCHBOARD_ENV="development", **extra)
    return env


def switchboard_serve(port: int) -> list[str]:
    return [SWITCHBOARD, "serve", "--port", str(port)]


def serve_app(app: Any, port: int) -> None:
    """Serves a baseline app the way `switchboard serve` serves ours: one uvicorn worker, uvloop, httptools."""
    import uvicorn

    uvicorn.run(
        app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", log_level="warning", access_log=False
    )


class Server:
    """A server in a child process (its own process group) on a loopback port; its output goes to a log file."""

    def __init__(self, name: str, command: list[str], *, port: int, env: dict[str, str], logs: Path) -> None:
        self.name, self.port = name, port
        self.url = f"http://127.0.0.1:{port}"
        self.log = logs / f"{name}.log"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, timeout: float = 60) -> None:
        """Until the server answers HTTP at all (uvicorn listens once the app's startup is done)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited:\n{self.log.read_text()}")
            try:
                httpx.get(self.url + "/healthz", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise SystemExit(f"{self.name} did not start:\n{self.log.read_text()}")

    def cpu_seconds(self) -> float:
        """User + system CPU the server has used (Linux /proc): a cost per request other load does not skew."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# ---------------------------------------------------------------- HTTP load


@dataclass
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    tool: str
    cpu_ms_per_request: float = 0.0


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk_load(url: str, body: str, token: str, duration: float, connections: int, workdir: Path) -> Load:
    script = workdir / "post.lua"
    script.write_text(
        f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    )
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{int(duration)}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if "Non-2xx" in out or (errors and any(int(n) for n in errors.groups())):
        raise SystemExit(f"wrk saw failures:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)[1])  # type: ignore[index]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)[1])  # type: ignore[index]
    return Load(rps, p50, p99, "wrk")


async def httpx_load(url: str, body: str, token: str, duration: float, connections: int) -> Load:
    latencies: list[float] = []
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        end = time.perf_counter() + duration

        async def client() -> None:
            while (started := time.perf_counter()) < end:
                response = await http.post(url, content=body, headers=headers)
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(connections)))
        elapsed = time.perf_counter() - began
    return Load(
        len(latencies) / elapsed, percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000, "httpx"
    )


def load(url: str, body: str, token: str, duration: float, connections: int, workdir: Path) -> Load:
    """`connections` clients POSTing `body` with a bearer `token` to `url` for `duration` seconds: by wrk
    where installed (`apt-get install wrk`), else by an httpx client pool."""
    if shutil.which("wrk"):
        return wrk_load(url, body, token, duration, connections, workdir)
    return asyncio.run(httpx_load(url, body, token, duration, connections))
