"""The `switchboard` command, run for real against a temporary SQLite file (docs/DESIGN.md §6)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from graphql import build_schema as parse_sdl
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from resolvers.ids import parse_api_id
from schema import build_schema
from tests.processes import CREATE_ACME, command_env, create_acme, run, switchboard
from tests.realtime_support import PROTOCOL


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return command_env(f"sqlite://{tmp_path / 'cli.db'}")


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_migrate_creates_the_tables_and_is_safe_to_run_again(tmp_path: Path, env: dict[str, str]) -> None:
    first = run("migrate", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    tables = _tables(tmp_path / "cli.db")
    assert {"account", "user", "conversation", "message", "inbox_event"} <= tables

    again = run("migrate", env=env, cwd=tmp_path)

    assert again.returncode == 0, again.stderr
    assert _tables(tmp_path / "cli.db") == tables


def test_create_account_migrates_and_prints_one_json_line_of_api_ids(tmp_path: Path, env: dict[str, str]) -> None:
    result = run(*CREATE_ACME, env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    printed = json.loads(line)
    assert set(printed) == {"account_id", "user_id", "token"}
    assert parse_api_id(printed["account_id"])[0] == "Account"
    assert parse_api_id(printed["user_id"])[0] == "User"
    assert printed["token"].startswith("sb_")


@pytest.mark.parametrize("email", ["not-an-email", "a b@acme.test"])
def test_create_account_with_a_bad_email_fails_clearly(tmp_path: Path, env: dict[str, str], email: str) -> None:
    result = run(
        "create-account", "--name", "Acme", "--admin-name", "Ana", "--admin-email", email, env=env, cwd=tmp_path
    )

    assert result.returncode != 0
    assert result.stdout == ""
    assert "email" in result.stderr and "Traceback" not in result.stderr


def test_create_account_refuses_an_address_that_would_break_email_and_stores_nothing(
    tmp_path: Path, env: dict[str, str]
) -> None:
    probe = "user.<img/src=x/onerror=alert(1)>@probe.test"

    result = run(
        "create-account", "--name", "Acme", "--admin-name", "Ana", "--admin-email", probe, env=env, cwd=tmp_path
    )

    assert result.returncode != 0 and result.stdout == ""
    assert "email" in result.stderr and "Traceback" not in result.stderr
    with sqlite3.connect(tmp_path / "cli.db") as connection:
        assert connection.execute('SELECT count(*) FROM "user"').fetchone() == (0,)
        assert connection.execute("SELECT count(*) FROM account").fetchone() == (0,)


def test_export_schema_prints_the_served_schema(tmp_path: Path, env: dict[str, str]) -> None:
    result = run("export-schema", env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == build_schema().as_str().strip()
    served = parse_sdl(result.stdout)
    assert served.query_type is not None and "conversations" in served.query_type.fields


def _chunks():  # type: ignore[no-untyped-def]
    yield b'{"query": "{ __typename }", "padding": "'
    for _ in range(20):
        yield b"x" * 1_000
    yield b'"}'


def test_serve_answers_probes_the_created_accounts_token_and_refuses_big_bodies(
    tmp_path: Path, env: dict[str, str]
) -> None:
    created = create_acme(env, tmp_path)

    with switchboard("serve", env={**env, "MAX_BODY_BYTES": "10000"}, cwd=tmp_path) as server:
        assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
        assert httpx.get(server.url + "/readyz").json() == {"status": "ready"}
        answer = httpx.post(
            server.url + "/graphql",
            json={"query": "{ viewer { id name role } account { id name } }"},
            headers={"Authorization": f"Bearer {created['token']}"},
        )
        anonymous = httpx.post(server.url + "/graphql", json={"query": "{ viewer { id } }"})
        graphiql = httpx.get(server.url + "/graphql", headers={"Accept": "text/html"})
        chunked = httpx.post(server.url + "/graphql", content=_chunks(), headers={"Content-Type": "application/json"})

    assert answer.json() == {
        "data": {
            "viewer": {"id": created["user_id"], "name": "Ana Admin", "role": "ADMIN"},
            "account": {"id": created["account_id"], "name": "Acme"},
        }
    }
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert graphiql.status_code == 200 and "graphiql" in graphiql.text.lower()
    assert chunked.status_code == 413 and "refused" in server.output()
    assert server.process.returncode is not None


INSTALL_MESSENGER = """mutation($i: InstallMessagingAppInput!) { installMessagingApp(input: $i) { webhookUrl } }"""
VERIFY_TOKEN = "verify-SECRET-4f2a9c"


def test_serve_never_prints_a_query_string_in_its_log(tmp_path: Path, env: dict[str, str]) -> None:
    created = create_acme(env, tmp_path)
    credentials = {
        "pageId": "1045",
        "pageAccessToken": "page-token",
        "appSecret": "app-secret",
        "verifyToken": VERIFY_TOKEN,
    }

    with switchboard("serve", env=env, cwd=tmp_path) as server:
        installed = httpx.post(
            server.url + "/graphql",
            json={
                "query": INSTALL_MESSENGER,
                "variables": {"i": {"provider": "MESSENGER", "name": "Page", "credentials": credentials}},
            },
            headers={"Authorization": f"Bearer {created['token']}"},
        ).json()["data"]["installMessagingApp"]
        path = httpx.URL(installed["webhookUrl"]).path
        verified = httpx.get(
            server.url + path,
            params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158"},
        )
        refused = httpx.get(
            server.url + path,
            params={"hub.mode": "subscribe", "hub.verify_token": "guess-SECRET-b71e", "hub.challenge": "1"},
        )
        read = httpx.get(
            server.url + "/graphql",
            params={"query": "query($v: String) { __typename }", "variables": '{"v": "variable-SECRET-88d1"}'},
        )
        with ws_connect(
            server.url.replace("http", "ws") + "/graphql?token=socket-SECRET-03aa", subprotocols=[PROTOCOL]
        ) as socket:  # type: ignore[list-item]
            socket.send(json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer nobody"}}))
            with pytest.raises(ConnectionClosed):
                socket.recv(timeout=10)
        server.wait_for(
            lambda: f'"GET {path} HTTP/1.1" 403' in server.output(), "the access line of the refused verification"
        )

    assert (verified.status_code, verified.text, refused.status_code, read.status_code) == (200, "1158", 403, 200)
    output = server.output()
    assert f'"GET {path} HTTP/1.1" 200' in output and '"GET /graphql HTTP/1.1" 200' in output
    assert '"WebSocket /graphql" [accepted]' in output
    assert "SECRET" not in output and "hub." not in output


def test_serve_closes_a_websocket_whose_message_is_over_max_body_bytes_with_1009(
    tmp_path: Path, env: dict[str, str]
) -> None:
    created = create_acme(env, tmp_path)
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {created['token']}"}}

    with switchboard("serve", env={**env, "MAX_BODY_BYTES": "4096"}, cwd=tmp_path) as server:
        url = server.url.replace("http", "ws") + "/graphql"
        with ws_connect(url, subprotocols=[PROTOCOL], max_size=None) as socket:  # type: ignore[list-item]
            socket.send(json.dumps({**init, "padding": "x" * 3_000}))
            acknowledged = json.loads(socket.recv(timeout=10))
            socket.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }" + " " * 5_000}})
            )
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    socket.recv(timeout=10)

    assert acknowledged["type"] == "connection_ack"
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


MIGRATE_TO = """
import asyncio, sys
from tortoise import Tortoise
from tortoise.migrations.api import migrate
from models.db import tortoise_config

async def main() -> None:
    await migrate(config=tortoise_config(sys.argv[1]), target=sys.argv[2])
    await Tortoise.close_connections()

asyncio.run(main())
"""


def test_migrate_makes_the_users_who_existed_before_user_status_active(tmp_path: Path, env: dict[str, str]) -> None:
    before = subprocess.run(
        [sys.executable, "-c", MIGRATE_TO, env["DATABASE_URL"], "models.0002_section_indexes"],
        env=env,
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert before.returncode == 0, before.stderr
    with sqlite3.connect(tmp_path / "cli.db") as connection:
        connection.execute("INSERT INTO account (id, name, created_at) VALUES (1, 'Acme', '2024-01-01 00:00:00+00:00')")
        connection.execute(
            "INSERT INTO user (id, account_id, name, email, role, available, created_at)"
            " VALUES (1, 1, 'Ana', 'ana@acme.test', 'ADMIN', 1, '2024-01-01 00:00:00+00:00')"
        )

    result = run("migrate", env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "cli.db") as connection:
        assert connection.execute("SELECT status FROM user").fetchall() == [("ACTIVE",)]


SIGN_IN = "mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { user { name } } }"


def test_r_signin_create_account_takes_the_admins_password_and_set_password_changes_it(
    tmp_path: Path, env: dict[str, str]
) -> None:
    # given an account created with the admin's password
    created = run(*CREATE_ACME, "--admin-password", "first password!", env=env, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    # a short one, or none where no terminal can ask for it, is refused
    short = run("set-password", "ana@acme.test", "--password", "short", env=env, cwd=tmp_path)
    unasked = run("set-password", "ana@acme.test", env=env, cwd=tmp_path)
    unknown = run("set-password", "nobody@acme.test", "--password", "long enough password", env=env, cwd=tmp_path)
    assert (short.returncode, short.stderr.splitlines()[-1]) == (
        2,
        "error: The password must have at least 10 characters.",
    )
    assert unasked.returncode == 2 and "--password" in unasked.stderr
    assert (unknown.returncode, unknown.stderr.splitlines()[-1]) == (
        2,
        "error: No user has the email nobody@acme.test.",
    )

    # when an operator sets another
    changed = run("set-password", "ana@acme.test", "--password", "second password", env=env, cwd=tmp_path)

    # then she signs in with it, not with the first
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout) == {"user_id": json.loads(created.stdout)["user_id"]}
    with switchboard("serve", env=env, cwd=tmp_path) as server:
        first = httpx.post(
            server.url + "/graphql",
            json={"query": SIGN_IN, "variables": {"e": "ana@acme.test", "p": "first password!"}},
        ).json()
        second = httpx.post(
            server.url + "/graphql",
            json={"query": SIGN_IN, "variables": {"e": "ana@acme.test", "p": "second password"}},
        ).json()
    assert first["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert second == {"data": {"signIn": {"user": {"name": "Ana Admin"}}}}
