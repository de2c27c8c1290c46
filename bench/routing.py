"""Routing cost (R-ROUTE, docs/DESIGN.md "Routing under concurrency"): first messages from new contacts
arriving as signed Twilio WhatsApp webhooks, with the app's policy BALANCED under a cap, against the
same app in MANUAL.

    .venv/bin/python bench/routing.py [--seconds 20] [--senders 50] [--users 20] [--cap 50] [--database-url …]

Runs, one after the other, on loopback only, each on a fresh PostgreSQL database (created and dropped
here) seeded the same way: an account, one WhatsApp app shared with `--users` users (the admin
included; all ACTIVE and available), then
  1. the app in MANUAL: every arrival queued, routing costs one primary-key read (the baseline);
  2. the app in BALANCED with maxOpenPerUser `--cap`: each arrival is given to the least loaded user
     under the app's routing lock, with its CONVERSATION_ASSIGNED event and notification, until all
     `--users` × `--cap` slots are full; later arrivals take the lock, find nobody and stay queued.
Each mode runs Switchboard (`app:create_app`, one uvicorn worker) for `--seconds` with `--senders`
keep-alive connections, every webhook the first message of a contact never seen before (so every
one is an arrival). Prints accepted webhooks/s, p50/p99 latency and server CPU per webhook, then
checks in the database: conversations = webhooks answered 200, nobody over the cap, no conversation
assigned twice (one CONVERSATION_ASSIGNED event each at most, one per assigned conversation), and
routed = min(arrivals, users × cap).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

from ingest import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, WebhookLoad, switchboard_server

from harness import connect, create_team, opened, percentile, postgres_url, scratch_database
from models import AssignmentMode, Provider


class Tally(dict[int, int]):
    """Responses by status, calling `reached` once when the `slots`-th webhook is accepted (200)."""

    def __init__(self, slots: int, reached: Callable[[], object]) -> None:
        super().__init__()
        self.slots, self.reached = slots, reached

    def __setitem__(self, status: int, count: int) -> None:
        super().__setitem__(status, count)
        if status == 200 and count == self.slots:
            self.reached()


class ArrivalLoad(WebhookLoad):
    """Webhooks each from a contact never seen before: every one creates a conversation (R-NEW)."""

    contacts = itertools.count(1)

    def fresh(self) -> tuple[bytes, str, str]:
        sid = f"SM{next(self.contacts):032x}"
        return self.signed(sid, f"+4916{int(sid[2:], 16):09d}", "Hallo, ich habe eine Frage 👋")

    def next_request(self) -> tuple[bytes, str]:
        self.queued.clear()  # no redelivered copies: each webhook is one arrival
        request, sid = super().next_request()
        self.queued.clear()
        return request, sid


@dataclass
class Result:
    mode: str
    elapsed: float
    load: WebhookLoad
    cpu: float
    conversations: int
    routed: int
    max_load: int
    assigned_events: int
    assigned_twice: int
    expected_routed: int
    cap: int
    filled: tuple[float, float] | None  # seconds and server CPU until users × cap webhooks were accepted

    @property
    def accepted(self) -> int:
        return self.load.statuses.get(200, 0)

    @property
    def cpu_ms(self) -> float:
        return self.cpu / max(self.accepted, 1) * 1000

    @property
    def exact(self) -> bool:
        return (
            self.conversations == self.accepted
            and self.max_load <= self.cap
            and self.assigned_twice == 0
            and self.assigned_events == self.routed == self.expected_routed
        )

    def phases(self) -> str:
        """The run split where users × cap arrivals were in: under BALANCED, routing while slots are
        free, then arrivals that take the lock, find everyone at the cap and stay queued."""
        if self.filled is None:
            return "(the run ended before users × cap arrivals)"
        seconds, cpu = self.filled
        first = self.expected_slots
        rest = self.accepted - first
        return (
            f"{'':<22} first {first}: {first / seconds:.0f}/s, {cpu / first * 1000:.2f} ms CPU/webhook;   "
            f"the other {rest}: {rest / max(self.elapsed - seconds, 1e-9):.0f}/s, "
            f"{(self.cpu - cpu) / max(rest, 1) * 1000:.2f} ms CPU/webhook"
        )

    expected_slots: int = 0

    def report(self) -> str:
        p50 = percentile(self.load.latencies, 0.5) * 1000
        p99 = percentile(self.load.latencies, 0.99) * 1000
        other = {k: v for k, v in self.load.statuses.items() if k != 200}
        return (
            f"{self.mode:<22} {self.accepted / self.elapsed:>7.0f} accepted/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   "
            f"server CPU {self.cpu_ms:.2f} ms/webhook   arrivals {self.conversations} (200s {self.accepted})   "
            f"routed {self.routed} (expected {self.expected_routed}), most held by one user {self.max_load} "
            f"(cap {self.cap}), assigned events {self.assigned_events}, assigned twice {self.assigned_twice}: "
            + ("match" if self.exact else "MISMATCH")
            + (f"   non-200: {other}" if other else "")
        )


async def seed(users: int, mode: AssignmentMode, cap: int) -> str:
    """The team, its app shared with `users` users (the admin included), the policy; the app's path."""
    from resolvers.apps import share_messaging_app
    from resolvers.ids import to_api_id
    from resolvers.routing import set_assignment_policy
    from resolvers.users import create_user

    team = await create_team(
        Provider.TWILIO_WHATSAPP, {"accountSid": ACCOUNT_SID, "authToken": AUTH_TOKEN, "fromNumber": FROM_NUMBER}
    )
    app_id = to_api_id("MessagingApp", team.app.id)
    members = [await create_user(team.boss, f"Agent {n}", f"agent{n}@bench.test") for n in range(1, users)]
    await share_messaging_app(team.boss, app_id, [to_api_id("User", m.user.id) for m in members])
    await set_assignment_policy(team.boss, app_id, mode, cap)
    return f"/webhooks/twilio/{app_id}"


async def bench(mode: AssignmentMode, args: argparse.Namespace, logs: Path) -> Result:
    async with scratch_database(postgres_url(args.database_url), "sb_bench_routing") as database:
        async with opened(database.url):
            path = await seed(args.users, mode, args.cap)
        server = switchboard_server(f"switchboard-{mode.value.lower()}", database.url, logs)
        load = ArrivalLoad(path, server.url, args.seconds, args.senders)
        try:
            server.wait_ready()
            cpu = server.cpu_seconds()
            filled: list[tuple[float, float]] = []
            began = perf_counter()
            load.statuses = Tally(
                args.users * args.cap, lambda: filled.append((perf_counter() - began, server.cpu_seconds() - cpu))
            )
            elapsed = await load.run(server.port)
            cpu = server.cpu_seconds() - cpu
        finally:
            server.stop()
        async with connect(database.url) as db:
            conversations = await db.fetchval("SELECT count(*) FROM conversation")
            routed = await db.fetchval("SELECT count(*) FROM conversation WHERE assignee_id IS NOT NULL")
            max_load = await db.fetchval(
                "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM conversation"
                " WHERE status = 'OPEN' AND assignee_id IS NOT NULL AND deleted_at IS NULL GROUP BY assignee_id) loads"
            )
            assigned_events = await db.fetchval("SELECT count(*) FROM inbox_event WHERE type = 'CONVERSATION_ASSIGNED'")
            assigned_twice = await db.fetchval(
                "SELECT count(*) FROM (SELECT conversation_id FROM inbox_event WHERE type = 'CONVERSATION_ASSIGNED'"
                " GROUP BY conversation_id HAVING count(*) > 1) twice"
            )
    expected = 0 if mode == AssignmentMode.MANUAL else min(conversations, args.users * args.cap)
    return Result(
        mode.value,
        elapsed,
        load,
        cpu,
        conversations,
        routed,
        max_load,
        assigned_events,
        assigned_twice,
        expected,
        args.cap,
        filled[0] if filled else None,
        args.users * args.cap,
    )


async def main(args: argparse.Namespace) -> int:
    logs = Path(tempfile.mkdtemp(prefix="sb-bench-routing-"))
    load1, load5, load15 = os.getloadavg()
    print(
        f"first messages of new contacts as signed Twilio webhooks, {args.senders} concurrent senders, "
        f"{args.seconds:.0f} s per mode, {args.users} users, cap {args.cap}, PostgreSQL; "
        f"load average {load1:.1f} {load5:.1f} {load15:.1f}"
    )
    manual = await bench(AssignmentMode.MANUAL, args, logs)
    print(manual.report())
    print(manual.phases(), flush=True)
    balanced = await bench(AssignmentMode.BALANCED, args, logs)
    print(balanced.report())
    print(balanced.phases())
    print(
        f"BALANCED / MANUAL: CPU per webhook {balanced.cpu_ms / max(manual.cpu_ms, 1e-9):.2f}x, "
        f"accepted/s {(balanced.accepted / balanced.elapsed) / max(manual.accepted / manual.elapsed, 1e-9):.2f}x; "
        f"load average now {os.getloadavg()[0]:.1f}"
    )
    return 0 if manual.exact and balanced.exact else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--cap", type=int, default=50)
    parser.add_argument("--database-url")
    import uvloop

    sys.exit(uvloop.run(main(parser.parse_args())))
