"""Running the real `switchboard` command in a subprocess, and PostgreSQL databases to point it at."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx

SWITCHBOARD = str(Path(sys.executable).parent / "switchboard")
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "REDIS_URL", "SMTP_URL"))
    }
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY="cli-test-secret-key",
        SWITCHBOARD_ENV="development",
        FETCH_PRIVATE_ADDRESSES="true",
        **extra,
    )
    return env


def run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SWITCHBOARD, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


CREATE_ACME = ("create-account", "--name", "Acme", "--admin-name", "Ana Admin", "--admin-email", "ana@acme.test")


def create_acme(env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """`switchboard create-account` for Acme and Ana Admin; its JSON line."""
    created: dict[str, Any] = json.loads(run(*CREATE_ACME, env=env, cwd=cwd).stdout)
    return created


class Server:
    """A `switchboard` process serving on a loopback port; its output is kept in a file to read."""

    def __init__(self, process: subprocess.Popen[str], port: int, log: Path) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, predicate, what: str, timeout: float = START_TIMEOUT) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"switchboard exited with {self.process.returncode} waiting for {what}:\n{self.output()}"
                )
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n{self.output()}")

    def wait_until_serving(self) -> None:
        def answers() -> bool:
            try:
                return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        self.wait_for(answers, "/healthz")


@contextmanager
def switchboard(*args: str, env: dict[str, str], cwd: Path, port: int | None = None) -> Iterator[Server]:
    """Starts `switchboard <args> --port <free>`, yields it once /healthz answers, then terminates it."""
    port = port or free_port()
    log = cwd / f"switchboard-{port}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [SWITCHBOARD, *args, "--port", str(port)],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    server = Server(process, port, log)
    try:
        server.wait_until_serving()
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _admin_dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


class PostgresDatabase:
    """A database of its own on the test PostgreSQL, which a test can make refuse connections."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.name = f"sb_cli_{os.getpid()}_{secrets.token_hex(3)}"
        self.url = f"{server_url.rpartition('/')[0]}/{self.name}"

    async def _admin(self, sql: str) -> None:
        connection = await asyncpg.connect(_admin_dsn(self.server_url))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def create(self) -> None:
        await self._admin(f'CREATE DATABASE "{self.name}"')

    async def drop(self) -> None:
        await self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    async def go_down(self) -> None:
        """New connections are refused and open ones are cut: to its clients the database is down."""
        await self._admin(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS false')
        await self._admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{self.name}'")

    async def come_back(self) -> None:
        await self._admin(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS true')
