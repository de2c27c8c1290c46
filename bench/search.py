"""searchConversations on 1M messages (R-SEARCH, docs/DESIGN.md §5): p99 under 50 ms.

    python bench/search.py [--messages 1000000] [--per-conversation 20] [--runs 200]

Creates its own PostgreSQL database (BENCH_POSTGRES_URL, else SWITCHBOARD_TEST_POSTGRES_URL, else
postgres://postgres@127.0.0.1:5432/postgres names the server), migrates it, and seeds it in SQL
with generate_series (no API): one account, one app, a conversation per `--per-conversation`
messages. The GIN index is dropped for the load and built again after it, then ANALYZE.

Measured THROUGH THE RESOLVER, in-process: `resolvers.search.search_conversations` for a fresh
viewer each call (so the viewer's apps are read each time, as on a request), first page of 25,
SQL and hydration included, GraphQL and HTTP not. Prints p50 / p99 / max per query kind.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import time
from dataclasses import dataclass

from harness import connect, create_team, opened, percentile, postgres_url, scratch_database
from models import User
from resolvers.search import search_conversations
from resolvers.viewer import Viewer

# One phrase per message, in turn: "hello" is in 1 message in 8; "zircon" in 1 in 1,000; the
# reference number ("ref 54321") in 1 in 100,000; "café" in 1 in 8, searched unaccented.
PHRASES = [
    "hello there",
    "thanks a lot",
    "where is my order",
    "can I get a refund",
    "café crème please",
    "invoice attached",
    "delivery tomorrow morning",
    "see you soon",
]

QUERIES = {
    "common word (1 in 8 messages)": "hello",
    "common word, page 2 (cursor)": "hello",
    "rare word (1 in 1,000)": "zircon",
    "two words": "where order",
    "accent-free (café)": "cafe",
    "rare word, 1 in 100,000 (ref number)": "54321",
    "three words": "delivery tomorrow morning",
    "contact name (1 in 10)": "muller",
    "contact name, two words": "customer 4242",
    "phone fragment": "555 004 21",
    "no match": "xylophone",
}


@dataclass
class Seeded:
    user_id: int
    account_id: int
    app_id: int


async def seed() -> Seeded:
    """The account, its admin and the app, through the resolvers (inside `opened`)."""
    team = await create_team()
    return Seeded(team.admin.user.id, team.account_id, team.app.id)


async def load(url: str, seeded: Seeded, conversations: int, per_conversation: int) -> None:
    """Contacts, conversations and messages in SQL; the GIN index dropped for the load, built after it."""
    index_sql = importlib.import_module("models.migrations.0012_search").POSTGRES
    account, app = seeded.account_id, seeded.app_id
    phrases = "ARRAY[" + ", ".join(f"'{phrase}'" for phrase in PHRASES) + "]"
    async with connect(url) as db:
        started = time.perf_counter()
        await db.execute("DROP INDEX ix_message_search")
        await db.execute(
            "INSERT INTO contact (id, account_id, app_id, external_id, name, created_at)"
            " SELECT i, $1, $2, '+1 555 ' || lpad(i::text, 7, '0'),"
            " 'Customer ' || i || CASE WHEN i % 10 = 0 THEN ' Müller' ELSE '' END, now()"
            " FROM generate_series(1, $3::int) i",
            account,
            app,
            conversations,
        )
        await db.execute(
            "INSERT INTO conversation (id, account_id, app_id, contact_id, status, version, last_message_id,"
            " last_message_at, last_message_text, last_message_direction, last_inbound_at, created_at)"
            " SELECT i, $1, $2, i, 'OPEN', 0, i * $4::int, now() - (($3::int - i) || ' seconds')::interval,"
            " 'last', 'INBOUND', now(), now() FROM generate_series(1, $3::int) i",
            account,
            app,
            conversations,
            per_conversation,
        )
        await db.execute(
            "INSERT INTO message (id, account_id, app_id, conversation_id, direction, text, attachments,"
            " sender_name, status, provider_message_id, created_at, updated_at)"
            f" SELECT g, $1, $2, (g - 1) / $3::int + 1, 'INBOUND', ({phrases})[g % 8 + 1]"
            " || CASE WHEN g % 1000 = 7 THEN ' zircon' ELSE '' END || ' ref ' || (g % 100000),"
            " '[]', 'Customer', 'RECEIVED', 'bench-' || g, now(), now()"
            " FROM generate_series(1, $4::int) g",
            account,
            app,
            per_conversation,
            conversations * per_conversation,
        )
        loaded = time.perf_counter()
        for statement in index_sql:
            if "ix_message_search" in statement:
                await db.execute(statement)
        for table in ("contact", "conversation", "message"):
            await db.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        await db.execute("VACUUM ANALYZE")
        print(
            f"seeded {conversations * per_conversation:,} messages in {conversations:,} conversations:"
            f" load {loaded - started:.0f} s, GIN index + analyze {time.perf_counter() - loaded:.0f} s"
        )


async def measure(user_id: int, runs: int) -> None:
    user = await User.get(id=user_id)
    second_page = (await search_conversations(Viewer(user), "hello")).rows[-1].cursor
    print(f"{'query':42} {'hits':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for kind, text in QUERIES.items():
        after = second_page if "page 2" in kind else None
        timings = []
        hits = 0
        for _ in range(runs):
            started = time.perf_counter()
            page = await search_conversations(Viewer(user), text, after=after)
            timings.append((time.perf_counter() - started) * 1000)
            hits = len(page.rows)
        print(
            f"{kind:42} {hits:>5} {percentile(timings, 0.5):>8.1f} {percentile(timings, 0.99):>8.1f}"
            f" {max(timings):>8.1f}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--per-conversation", type=int, default=20)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    async with scratch_database(postgres_url(args.database_url), "bench_search") as database, opened(database.url):
        seeded = await seed()
        conversations = args.messages // args.per_conversation
        await load(database.url, seeded, conversations, args.per_conversation)
        await measure(seeded.user_id, args.runs)


if __name__ == "__main__":
    asyncio.run(main())
