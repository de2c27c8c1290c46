"""Section page through GraphQL vs a bare Starlette endpoint running the same SQL (docs/DESIGN.md §5).

    python bench/sections.py [--conversations 2000] [--messages 3] [--duration 10] [--connections 16]
    python bench/sections.py --profile      # where the GraphQL path spends its time, in-process

Creates its own PostgreSQL database (BENCH_POSTGRES_URL, else SWITCHBOARD_TEST_POSTGRES_URL, else
postgres://postgres@127.0.0.1:5432/postgres names the server), seeds it with COPY, then serves it
twice, each one uvicorn worker with uvloop + httptools on 127.0.0.1: the real app (`switchboard
serve`) and a bare Starlette endpoint that answers the same POST with the same page from the same
SQL through asyncpg; the real app once per executor (SWITCHBOARD_EXECUTOR=planner and =reference,
`--executor` picks one). All are loaded by wrk when installed (`apt-get install wrk`), else by an
httpx client pool, for the same duration and concurrency, in the same run. Prints requests/s,
p50 and p99 of each, server CPU per request, and each app's ratios to bare (budget: at least 0.6x the
requests/s and at most 1.5x the server CPU per request).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from harness import (
    ROOT,
    SECRET_KEY,
    Load,
    Server,
    connect,
    create_database,
    create_team,
    drop_database,
    dsn,
    free_port,
    load,
    opened,
    postgres_url,
    serve_app,
    server_env,
    switchboard_serve,
)

QUERY = """query Page($first: Int!) { conversations(section: UNASSIGNED, first: $first) {
  edges { cursor node { id status lastMessageAt contact { id externalId name } assignee { id name }
    lastMessage { id text direction createdAt } } }
  pageInfo { hasNextPage endCursor } } }"""
PAGE = 50


# ---------------------------------------------------------------- the database


@dataclass
class Seeded:
    url: str
    token: str


async def seed(url: str, conversations: int, messages: int) -> Seeded:
    """An account, its admin, one API-channel app, then contacts, conversations and messages by COPY:
    half UNASSIGNED, the rest assigned to the admin or a colleague, or closed."""
    from resolvers.users import create_user

    async with opened(url):
        team = await create_team()
        colleague = await create_user(team.boss, "Ben Colleague", "ben@bench.test")
    account_id, admin, app = team.account_id, team.admin, team.app

    async with connect(url) as connection:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        contacts = [
            (i, account_id, app.id, f"cust-{i}", f"Customer {i}", None, start) for i in range(1, conversations + 1)
        ]
        await connection.copy_records_to_table(
            "contact",
            records=contacts,
            columns=["id", "account_id", "app_id", "external_id", "name", "avatar_url", "created_at"],
        )
        rows, message_rows, message_id = [], [], 0
        for i in range(1, conversations + 1):
            kind = i % 10
            status = "CLOSED" if kind >= 8 else "OPEN"
            assignee = None if kind < 5 else (admin.user.id if kind % 2 else colleague.user.id)
            last_at = None
            for m in range(messages):
                message_id += 1
                last_at = start + timedelta(minutes=i, seconds=m)
                inbound = m % 2 == 0
                message_rows.append(
                    (
                        message_id,
                        account_id,
                        app.id,
                        i,
                        "INBOUND" if inbound else "OUTBOUND",
                        f"Message {m} of conversation {i}",
                        "[]",
                        f"Customer {i}" if inbound else "Ana Admin",
                        None if inbound else admin.user.id,
                        "RECEIVED" if inbound else "DELIVERED",
                        f"bench-{message_id}",
                        last_at,
                        last_at,
                    )
                )
            rows.append(
                (
                    i,
                    account_id,
                    app.id,
                    i,
                    status,
                    assignee,
                    0,
                    message_id if messages else None,
                    last_at,
                    f"Message {messages - 1} of conversation {i}" if messages else None,
                    "INBOUND" if messages else None,
                    last_at,
                    None,
                    start,
                )
            )
        await connection.copy_records_to_table(
            "conversation",
            records=rows,
            columns=[
                "id",
                "account_id",
                "app_id",
                "contact_id",
                "status",
                "assignee_id",
                "version",
                "last_message_id",
                "last_message_at",
                "last_message_text",
                "last_message_direction",
                "last_inbound_at",
                "deleted_at",
                "created_at",
            ],
        )
        await connection.copy_records_to_table(
            "message",
            records=message_rows,
            columns=[
                "id",
                "account_id",
                "app_id",
                "conversation_id",
                "direction",
                "text",
                "attachments",
                "sender_name",
                "sent_by_id",
                "status",
                "provider_message_id",
                "created_at",
                "updated_at",
            ],
        )
        for table in ("contact", "conversation", "message"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        await connection.execute("ANALYZE")
    return Seeded(url, admin.token)


# ---------------------------------------------------------------- the bare endpoint


AUTH_SQL = 'SELECT u.id, u.account_id FROM api_token t JOIN "user" u ON u.id = t.user_id WHERE t.digest = $1 LIMIT 1'
ACCESS_SQL = "SELECT app_id FROM app_access WHERE user_id = $1"
PAGE_SQL = """SELECT c.id, c.status, c.last_message_at, c.created_at, c.last_message_id,
  ct.id AS contact_id, ct.external_id, ct.name AS contact_name, u.id AS assignee_id, u.name AS assignee_name
FROM conversation c JOIN contact ct ON ct.id = c.contact_id LEFT JOIN "user" u ON u.id = c.assignee_id
WHERE c.status = 'OPEN' AND c.assignee_id IS NULL AND c.account_id = $1 AND c.app_id = ANY($2::int[]) AND c.deleted_at IS NULL
ORDER BY c.last_message_at DESC, c.id DESC LIMIT $3"""
MESSAGES_SQL = "SELECT id, text, direction, created_at FROM message WHERE id = ANY($1::int[])"


def bare_app(url: str) -> Any:
    """The same page as the GraphQL query, from the same SQL, with nothing between asyncpg and JSON."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from resolvers.ids import to_api_id
    from resolvers.pagination import encode_cursor
    from resolvers.viewer import bearer_token, digest

    pool: asyncpg.Pool | None = None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(dsn(url), min_size=5, max_size=5)
        yield
        await pool.close()

    async def page(request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        first = int(body["variables"]["first"])
        token = bearer_token(request.headers.get("authorization"))
        assert pool is not None
        async with pool.acquire() as db:
            user = await db.fetchrow(AUTH_SQL, digest(token or ""))
            if user is None:
                return JSONResponse({"errors": [{"message": "unauthenticated"}]}, status_code=401)
            app_ids = [row["app_id"] for row in await db.fetch(ACCESS_SQL, user["id"])]
            rows = await db.fetch(PAGE_SQL, user["account_id"], app_ids, first + 1)
            shown = rows[:first]
            messages = {
                m["id"]: m
                for m in await db.fetch(MESSAGES_SQL, [r["last_message_id"] for r in shown if r["last_message_id"]])
            }
        edges = []
        for row in shown:
            moment = row["last_message_at"] or row["created_at"]
            message = messages.get(row["last_message_id"])
            edges.append(
                {
                    "cursor": encode_cursor(moment.isoformat(), row["id"]),
                    "node": {
                        "id": to_api_id("Conversation", row["id"]),
                        "status": row["status"],
                        "lastMessageAt": row["last_message_at"].isoformat() if row["last_message_at"] else None,
                        "contact": {
                            "id": to_api_id("Contact", row["contact_id"]),
                            "externalId": row["external_id"],
                            "name": row["contact_name"],
                        },
                        "assignee": {"id": to_api_id("User", row["assignee_id"]), "name": row["assignee_name"]}
                        if row["assignee_id"]
                        else None,
                        "lastMessage": {
                            "id": to_api_id("Message", message["id"]),
                            "text": message["text"],
                            "direction": message["direction"],
                            "createdAt": message["created_at"].isoformat(),
                        }
                        if message
                        else None,
                    },
                }
            )
        page_info = {"hasNextPage": len(rows) > first, "endCursor": edges[-1]["cursor"] if edges else None}
        return JSONResponse({"data": {"conversations": {"edges": edges, "pageInfo": page_info}}})

    return Starlette(routes=[Route("/graphql", page, methods=["POST"])], lifespan=lifespan)


# ---------------------------------------------------------------- main


def same_page(graphql: dict[str, Any], bare: dict[str, Any]) -> bool:
    ids = [[edge["node"]["id"] for edge in answer["data"]["conversations"]["edges"]] for answer in (graphql, bare)]
    return ids[0] == ids[1] and len(ids[0]) == PAGE


# ---------------------------------------------------------------- profile


async def profile(seeded: Seeded, requests: int, executor: str) -> None:
    """cProfile of the GraphQL path in-process (ASGI, no network): where a page's time goes."""
    import cProfile
    import pstats

    from app import create_app
    from settings import Settings

    body = json.dumps({"query": QUERY, "variables": {"first": PAGE}})
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {seeded.token}"}
    async with opened(seeded.url):
        app = create_app(
            Settings(database_url=seeded.url, secret_key=SECRET_KEY, executor=executor), manage_database=False
        )
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
            for _ in range(20):
                (await http.post("/graphql", content=body, headers=headers)).raise_for_status()
            profiler = cProfile.Profile()
            began = time.perf_counter()
            profiler.enable()
            for _ in range(requests):
                await http.post("/graphql", content=body, headers=headers)
            profiler.disable()
            elapsed = time.perf_counter() - began
    print(
        f"{requests} in-process requests ({executor} executor), {elapsed / requests * 1000:.2f} ms each under the profiler"
    )
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(
        re.escape(str(ROOT)) + "/(schema|resolvers|models|app)", 25
    )


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=2_000)
    parser.add_argument("--messages", type=int, default=3, help="messages per conversation")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--profile", action="store_true", help="profile the GraphQL path in-process instead")
    parser.add_argument(
        "--executor",
        choices=("both", "planner", "reference"),
        default="both",
        help="which SWITCHBOARD_EXECUTOR to serve (both: one server each, same run; --profile: planner unless given)",
    )
    parser.add_argument(
        "--also",
        metavar="CHECKOUT",
        help="also load the GraphQL app of another checkout (e.g. a `git worktree` of an older commit)",
    )
    parser.add_argument("--bare-server", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.bare_server:
        serve_app(bare_app(args.bare_server), args.port)
        return

    database = asyncio.run(create_database(postgres_url(), "sb_bench"))
    url = database.url
    served: list[Server] = []
    try:
        began = time.perf_counter()
        seeded = asyncio.run(seed(url, args.conversations, args.messages))
        print(
            f"seeded {args.conversations:,} conversations, {args.conversations * args.messages:,} messages in {time.perf_counter() - began:.1f} s"
        )
        if args.profile:
            asyncio.run(profile(seeded, 300, "reference" if args.executor == "reference" else "planner"))
            return

        env = server_env(url)
        logs = Path(tempfile.mkdtemp(prefix="sb-bench-"))
        bare_port = free_port()
        bare = Server(
            "bare",
            [sys.executable, __file__, "--bare-server", url, "--port", str(bare_port)],
            port=bare_port,
            env=env,
            logs=logs,
        )
        executors = ("planner", "reference") if args.executor == "both" else (args.executor,)
        for executor in executors:
            port = free_port()
            served.append(
                Server(
                    executor,
                    switchboard_serve(port),
                    port=port,
                    env={**env, "SWITCHBOARD_EXECUTOR": executor},
                    logs=logs,
                )
            )
        served.append(bare)
        if args.also:
            also_port = free_port()
            checkout = str(Path(args.also).resolve())
            also_env = {**env, "PYTHONPATH": checkout}
            # `-c` puts the working directory (this checkout) first on sys.path: the other checkout goes before it.
            start = f"import sys; sys.path.insert(0, {checkout!r}); import cli; cli.main()"
            also = [sys.executable, "-c", start, "serve", "--port", str(also_port)]
            served.append(Server("graphql-also", also, port=also_port, env=also_env, logs=logs))
        for target in served:
            target.wait_ready()

        body = json.dumps({"query": QUERY, "variables": {"first": PAGE}})
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {seeded.token}"}
        answers = [httpx.post(s.url + "/graphql", content=body, headers=headers).json() for s in served]
        if not all(same_page(answers[0], answer) for answer in answers[1:]):
            raise SystemExit(f"the endpoints disagree:\n{json.dumps(answers)[:2000]}")

        results: dict[str, Load] = {}
        for target in (bare, *(s for s in served if s is not bare)):
            load(
                target.url + "/graphql", body, seeded.token, min(2.0, args.duration), args.connections, logs
            )  # warm-up
            cpu = target.cpu_seconds()
            results[target.name] = measured = load(
                target.url + "/graphql", body, seeded.token, args.duration, args.connections, logs
            )
            requests = measured.requests_per_second * args.duration
            measured.cpu_ms_per_request = (target.cpu_seconds() - cpu) * 1000 / requests

        print(
            f"\nsection page: UNASSIGNED, {PAGE} rows with contact, assignee, last message; PostgreSQL; "
            f"{args.connections} connections, {args.duration:.0f} s each, load by {results['bare'].tool}; one uvicorn worker (uvloop, httptools)"
        )
        print(f"{'endpoint':<14}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'server CPU ms/req':>19}")
        for name, result in results.items():
            print(
                f"{name:<14}{result.requests_per_second:>8.0f}{result.p50_ms:>9.1f}{result.p99_ms:>9.1f}{result.cpu_ms_per_request:>19.2f}"
            )
        bare_result = results["bare"]
        for name, result in results.items():
            if name != "bare":
                print(
                    f"{name} / bare: {result.requests_per_second / bare_result.requests_per_second:.2f}x the req/s (budget: at least 0.6), "
                    f"{result.cpu_ms_per_request / bare_result.cpu_ms_per_request:.2f}x the server CPU per request (budget: at most 1.5)"
                )
    finally:
        for process in served:
            process.stop()
        asyncio.run(drop_database(database))


if __name__ == "__main__":
    main()
