"""R-ROUTE: automatic assignment of new and reopened unassigned conversations, with a cap per user,
and the queue taken oldest first the moment someone becomes eligible."""

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from models import AssignmentMode, Conversation, InboxEvent, InboxEventType, MessagingApp, Notification
from models import NotificationKind as Kind
from models.sql import AdvisoryLock
from providers.api_channel import sign
from resolvers.clock import ManualClock
from resolvers.ids import pk_of
from settings import Settings, use_settings
from tests.conftest import POSTGRES_URL, REDIS_URL, require
from tests.processes import PostgresDatabase, command_env, run, switchboard
from tests.support import (
    CLOSE,
    REOPEN,
    SET_AVAILABILITY,
    UNASSIGN,
    Api,
    Person,
    Team,
    postgres_only,
    queued_behind,
)

SET_POLICY = """mutation($app: ID!, $m: AssignmentMode!, $cap: Int) {
  setAssignmentPolicy(appId: $app, mode: $m, maxOpenPerUser: $cap) { id assignmentPolicy { mode maxOpenPerUser } } }"""
POLICY = "{ messagingApps { id assignmentPolicy { mode maxOpenPerUser } } }"
SHARE = "mutation($id: ID!, $u: [ID!]!) { shareMessagingApp(id: $id, userIds: $u) { id } }"
DEACTIVATE = "mutation($id: ID!) { deactivateUser(id: $id) { id status } }"
REACTIVATE = "mutation($id: ID!) { reactivateUser(id: $id) { id status } }"


async def set_policy(api: Api, team: Team, mode: str, cap: int | None = None) -> None:
    await api.data(SET_POLICY, {"app": team.app.id, "m": mode, "cap": cap}, token=team.admin.token)


async def arrive(team: Team, clock: ManualClock, *contacts: str) -> None:
    """Each contact writes in, a minute apart (so "oldest" means something)."""
    for contact in contacts:
        clock.advance(minutes=1)
        await team.app.receive(contact)


async def assignees(team: Team) -> dict[str, str | None]:
    """Each of the app's open conversations: contact -> the assignee's name (None: queued)."""
    rows = await Conversation.filter(app_id=pk_of("MessagingApp", team.app.id), status="OPEN").prefetch_related(
        "contact", "assignee"
    )
    return {row.contact.external_id: row.assignee.name.split()[0] if row.assignee else None for row in rows}


def names(*people: Person) -> list[str]:
    return [person.name.split()[0] for person in people]


async def test_r_route_manual_is_the_default_and_assigns_nobody(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()

    policy = (await api.data(POLICY, token=team.admin.token))["messagingApps"][0]["assignmentPolicy"]
    await arrive(team, clock, "c1", "c2")

    assert policy == {"mode": "MANUAL", "maxOpenPerUser": None}
    assert await assignees(team) == {"c1": None, "c2": None}
    assert await api.contacts_in(team.bob, "UNASSIGNED") == ["c2", "c1"]


async def test_r_route_round_robin_gives_turns_in_order_with_an_event_and_a_notification(
    api: Api, clock: ManualClock
) -> None:
    team = await api.create_team()
    await set_policy(api, team, "ROUND_ROBIN")

    await arrive(team, clock, "c1", "c2", "c3", "c4")

    assert await assignees(team) == {"c1": "Ana", "c2": "Bob", "c3": "Carol", "c4": "Ana"}
    assert await api.contacts_in(team.bob, "ASSIGNED_TO_ME") == ["c2"]
    c2 = pk_of("Conversation", await team.app.conversation_id("c2"))
    events = await InboxEvent.filter(conversation_id=c2).order_by("id").values_list("type", "actor_id")
    # no actor: the app's policy; on PostgreSQL the inbound batch's own events come first
    assert events[0] == (InboxEventType.CONVERSATION_CREATED, None)
    assert sorted(events[1:]) == [(InboxEventType.CONVERSATION_ASSIGNED, None), (InboxEventType.MESSAGE_RECEIVED, None)]
    told = await Notification.filter(conversation_id=c2, kind=Kind.CONVERSATION_ASSIGNED_TO_ME).values_list(
        "user_id", flat=True
    )
    assert told == [pk_of("User", team.bob.id)]


async def test_r_route_balanced_picks_the_least_loaded(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    await set_policy(api, team, "ROUND_ROBIN")
    await arrive(team, clock, "a1", "b1", "c1", "a2", "b2")  # Ana 2, Bob 2, Carol 1
    await api.data(CLOSE, {"id": await team.app.conversation_id("a1")}, token=team.admin.token)  # Ana 1

    await set_policy(api, team, "BALANCED")
    await arrive(team, clock, "n1", "n2", "n3")

    # Ana and Carol hold 1 each: n1 to the first of them in turn after Bob (Carol), n2 to Ana; then
    # everyone holds 2 and n3 goes on in turn, to Bob
    got = await assignees(team)
    assert [got["n1"], got["n2"], got["n3"]] == ["Carol", "Ana", "Bob"]


async def test_r_route_cap_respected_and_arrivals_queue(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    policy = (await api.data(SET_POLICY, {"app": team.app.id, "m": "BALANCED", "cap": 1}, token=team.admin.token))[
        "setAssignmentPolicy"
    ]["assignmentPolicy"]

    await arrive(team, clock, "c1", "c2", "c3", "c4", "c5")

    assert policy == {"mode": "BALANCED", "maxOpenPerUser": 1}
    got = await assignees(team)
    assert sorted(name for name in got.values() if name) == ["Ana", "Bob", "Carol"]
    assert [contact for contact, name in got.items() if name is None] == ["c4", "c5"]
    assert await api.contacts_in(team.bob, "UNASSIGNED") == ["c5", "c4"]


async def test_r_route_queue_drains_oldest_first_when_a_close_frees_a_slot(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    await set_policy(api, team, "ROUND_ROBIN", 1)
    await arrive(team, clock, "c1", "c2", "c3", "c4", "c5")  # c4, c5 queued

    await api.data(CLOSE, {"id": await team.app.conversation_id("c2")}, token=team.bob.token)

    assert await assignees(team) == {"c1": "Ana", "c3": "Carol", "c4": "Bob", "c5": None}


async def test_r_route_queue_drains_when_an_unassign_frees_a_slot(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    await set_policy(api, team, "ROUND_ROBIN", 1)
    await arrive(team, clock, "c1", "c2", "c3", "c4")  # c4 queued
    await api.data(SET_AVAILABILITY, {"a": False}, token=team.bob.token)

    await api.data(UNASSIGN, {"id": await team.app.conversation_id("c2")}, token=team.bob.token)

    # Bob is unavailable: his slot is nobody's; the queue (c2 now oldest in it) waits
    assert await assignees(team) == {"c1": "Ana", "c2": None, "c3": "Carol", "c4": None}
    await api.data(CLOSE, {"id": await team.app.conversation_id("c3")}, token=team.carol.token)
    assert await assignees(team) == {"c1": "Ana", "c2": "Carol", "c4": None}


async def test_r_route_queue_drains_oldest_first_when_availability_returns(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    for person in (team.admin, team.bob, team.carol):
        await api.data(SET_AVAILABILITY, {"a": False}, token=person.token)
    await set_policy(api, team, "ROUND_ROBIN", 2)
    await arrive(team, clock, "c1", "c2", "c3")
    assert await assignees(team) == {"c1": None, "c2": None, "c3": None}

    await api.data(SET_AVAILABILITY, {"a": True}, token=team.bob.token)

    assert await assignees(team) == {"c1": "Bob", "c2": "Bob", "c3": None}
    assert await api.contacts_in(team.bob, "ASSIGNED_TO_ME") == ["c2", "c1"]


async def test_r_route_queue_drains_when_a_user_is_reactivated(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    for person in (team.admin, team.carol):
        await api.data(SET_AVAILABILITY, {"a": False}, token=person.token)
    await set_policy(api, team, "BALANCED", 1)
    await arrive(team, clock, "c1", "c2")  # c1 to Bob, c2 queued

    await api.data(DEACTIVATE, {"id": team.bob.id}, token=team.admin.token)
    assert await assignees(team) == {"c1": None, "c2": None}  # his c1 is queued again, nobody may take it

    await api.data(REACTIVATE, {"id": team.bob.id}, token=team.admin.token)
    assert await assignees(team) == {"c1": "Bob", "c2": None}


async def test_r_route_a_deactivated_users_conversations_go_to_the_others(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    await set_policy(api, team, "ROUND_ROBIN", 1)
    await arrive(team, clock, "c1", "c2")  # Ana, Bob; Carol has a free slot

    await api.data(DEACTIVATE, {"id": team.bob.id}, token=team.admin.token)

    assert await assignees(team) == {"c1": "Ana", "c2": "Carol"}


async def test_r_route_queue_drains_when_access_is_given(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    olga = await api.create_user(team.admin, "Olga Outsider")
    for person in (team.admin, team.bob, team.carol):
        await api.data(SET_AVAILABILITY, {"a": False}, token=person.token)
    await set_policy(api, team, "ROUND_ROBIN", 1)
    await arrive(team, clock, "c1", "c2")
    assert await assignees(team) == {"c1": None, "c2": None}  # Olga has no access: never a candidate

    await api.data(SHARE, {"id": team.app.id, "u": [team.bob.id, team.carol.id, olga.id]}, token=team.admin.token)

    assert await assignees(team) == {"c1": "Olga", "c2": None}


async def test_r_route_queue_drains_when_the_policy_changes(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    await arrive(team, clock, "c1", "c2", "c3", "c4")  # MANUAL: all queued

    await set_policy(api, team, "ROUND_ROBIN", 1)

    assert await assignees(team) == {"c1": "Ana", "c2": "Bob", "c3": "Carol", "c4": None}


async def test_r_route_deactivated_and_unavailable_users_are_skipped(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    await api.data(SET_AVAILABILITY, {"a": False}, token=team.bob.token)
    await api.data(DEACTIVATE, {"id": team.carol.id}, token=team.admin.token)
    await set_policy(api, team, "ROUND_ROBIN")

    await arrive(team, clock, "c1", "c2", "c3")

    assert await assignees(team) == {"c1": "Ana", "c2": "Ana", "c3": "Ana"}


async def test_r_route_a_reopened_unassigned_conversation_is_routed(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    await arrive(team, clock, "c1", "c2")
    for contact in ("c1", "c2"):
        await api.data(CLOSE, {"id": await team.app.conversation_id(contact)}, token=team.bob.token)
    await set_policy(api, team, "ROUND_ROBIN")

    await api.data(REOPEN, {"id": await team.app.conversation_id("c1")}, token=team.bob.token)  # by someone
    await arrive(team, clock, "c2")  # by the customer writing

    assert await assignees(team) == {"c1": "Ana", "c2": "Bob"}


async def test_r_route_manual_again_leaves_arrivals_unassigned(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    await set_policy(api, team, "ROUND_ROBIN", 5)
    await arrive(team, clock, "c1")

    await set_policy(api, team, "MANUAL", 5)
    await arrive(team, clock, "c2")

    assert await assignees(team) == {"c1": "Ana", "c2": None}
    app = await MessagingApp.get(id=pk_of("MessagingApp", team.app.id))
    assert (app.assignment_mode, app.max_open_per_user) == (AssignmentMode.MANUAL, 5)


async def test_r_route_only_an_admin_of_the_account_sets_the_policy(api: Api) -> None:
    team = await api.create_team()
    other = await api.create_account("Globex", "Gus Admin")

    variables = {"app": team.app.id, "m": "ROUND_ROBIN", "cap": None}
    assert await api.error_code(SET_POLICY, variables, token=team.bob.token) == "FORBIDDEN"
    assert await api.error_code(SET_POLICY, variables, token=other.token) == "NOT_FOUND"
    for cap in (0, -1, 10_001):
        result = await api.execute(SET_POLICY, {**variables, "cap": cap}, token=team.admin.token)
        assert result["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
        assert result["errors"][0]["extensions"]["field"] == "maxOpenPerUser"

    policy = (await api.data(POLICY, token=team.admin.token))["messagingApps"][0]["assignmentPolicy"]
    assert policy == {"mode": "MANUAL", "maxOpenPerUser": None}


async def test_r_route_never_gives_a_conversation_to_another_accounts_user(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    other = await api.create_account("Globex", "Gus Admin")
    other_app = await api.install_api_app(other, name="Globex chat")
    await api.data(SET_POLICY, {"app": other_app.id, "m": "ROUND_ROBIN", "cap": None}, token=other.token)
    await set_policy(api, team, "ROUND_ROBIN")

    await other_app.receive("g1")
    await arrive(team, clock, "c1")

    globex = await Conversation.get(app_id=pk_of("MessagingApp", other_app.id)).prefetch_related("assignee")
    assert globex.assignee.name == "Gus Admin"
    assert await assignees(team) == {"c1": "Ana"}


@pytest.fixture
def one_message_a_batch(test_settings: Settings) -> Iterator[None]:
    """Each inbound message its own transaction (the committer writes two batches at once)."""
    use_settings(dataclasses.replace(test_settings, ingest_batch_size=1))
    yield
    use_settings(test_settings)


async def test_r_route_concurrent_arrivals_never_exceed_the_cap(
    api: Api, db: str, database: str, clock: ManualClock, one_message_a_batch: None
) -> None:
    """Two first messages, each in its own transaction, both created before either routes (they
    queue behind the app's routing lock), and one free slot left: one is given, the other waits."""
    url = postgres_only(db, database)
    team = await api.create_team()
    await api.data(SET_AVAILABILITY, {"a": False}, token=team.carol.token)
    await set_policy(api, team, "BALANCED", 1)
    await arrive(team, clock, "first")  # to Ana: Bob's is the last free slot

    lock = (
        "SELECT pg_advisory_xact_lock($1::int, $2::int)",
        AdvisoryLock.APP_ROUTING,
        pk_of("MessagingApp", team.app.id),
    )
    await queued_behind(url, lock, [team.app.receive(f"race-{n}") for n in range(2)])

    got = await assignees(team)
    assert sorted(got.values(), key=str) == ["Ana", "Bob", None]
    assert await InboxEvent.filter(type=InboxEventType.CONVERSATION_ASSIGNED).count() == 2


async def test_r_route_a_batch_of_arrivals_in_one_transaction_keeps_turns_and_the_cap(
    api: Api, test_settings: Settings, clock: ManualClock
) -> None:
    """Five first messages written in one transaction (PostgreSQL's inbound batch; SQLite writes them
    one by one): round robin with a cap of 1 gives three in turn and queues two."""
    team = await api.create_team()
    await set_policy(api, team, "ROUND_ROBIN", 1)
    use_settings(dataclasses.replace(test_settings, ingest_batch_size=5, ingest_batch_ms=10_000))
    try:
        await asyncio.gather(*(team.app.receive(f"c{n}") for n in range(1, 6)))
    finally:
        use_settings(test_settings)

    got = await assignees(team)
    given = sorted((contact, name) for contact, name in got.items() if name)
    assert sorted(name for _, name in given) == ["Ana", "Bob", "Carol"]
    assert list(got.values()).count(None) == 2
    assert await InboxEvent.filter(type=InboxEventType.CONVERSATION_ASSIGNED).count() == 3


async def test_r_route_availability_returning_while_a_conversation_arrives_never_exceeds_the_cap(
    api: Api, db: str, database: str, clock: ManualClock, one_message_a_batch: None
) -> None:
    """Bob (cap 1) turns available as a customer writes in, both held behind the app's routing lock
    until each waits there: one of the two conversations is his, the other waits."""
    url = postgres_only(db, database)
    team = await api.create_team()
    for person in (team.admin, team.bob, team.carol):
        await api.data(SET_AVAILABILITY, {"a": False}, token=person.token)
    await set_policy(api, team, "BALANCED", 1)
    await arrive(team, clock, "queued")

    lock = (
        "SELECT pg_advisory_xact_lock($1::int, $2::int)",
        AdvisoryLock.APP_ROUTING,
        pk_of("MessagingApp", team.app.id),
    )
    writers = [api.data(SET_AVAILABILITY, {"a": True}, token=team.bob.token), team.app.receive("arriving")]
    await queued_behind(url, lock, writers)

    got = await assignees(team)
    assert sorted(got) == ["arriving", "queued"]
    assert sorted(got.values(), key=str) == ["Bob", None]


async def test_r_route_arrivals_at_once_on_both_databases_keep_the_cap(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    await set_policy(api, team, "ROUND_ROBIN", 1)

    await asyncio.gather(*(team.app.receive(f"at-once-{n}") for n in range(6)))

    got = await assignees(team)
    assert sorted(name for name in got.values() if name) == ["Ana", "Bob", "Carol"]
    assert list(got.values()).count(None) == 3


@pytest.mark.postgres
@pytest.mark.redis
async def test_r_route_arrivals_racing_on_two_server_processes_never_exceed_the_cap(tmp_path: Path) -> None:
    """Two `switchboard serve` processes on one PostgreSQL database and one Redis; twenty first
    messages posted to both at once; round robin with a cap of 3 for two people: six are given,
    three each, and fourteen wait; every conversation has one assignment event at most."""
    require(POSTGRES_URL, "SWITCHBOARD_TEST_POSTGRES_URL")
    require(REDIS_URL, "SWITCHBOARD_TEST_REDIS_URL")
    assert POSTGRES_URL and REDIS_URL
    database = PostgresDatabase(POSTGRES_URL)
    await database.create()
    try:
        env = command_env(database.url, REDIS_URL=REDIS_URL)
        args = ["--name", "Acme", "--admin-name", "Ana", "--admin-email", "ana@acme.test"]
        headers = {
            "Authorization": f"Bearer {json.loads(run('create-account', *args, env=env, cwd=tmp_path).stdout)['token']}"
        }
        with switchboard("serve", env=env, cwd=tmp_path) as one, switchboard("serve", env=env, cwd=tmp_path) as two:
            async with httpx.AsyncClient(base_url=one.url, headers=headers) as http:
                bob = await http.post(
                    "/graphql",
                    json={"query": 'mutation { createUser(name: "Bob", email: "bob@acme.test") { user { id } } }'},
                )
                bob_id = bob.json()["data"]["createUser"]["user"]["id"]
                install = {
                    "provider": "API",
                    "name": "Chat",
                    "credentials": {"secret": "s3cret-s3cret-s3cret", "deliveryUrl": "http://127.0.0.1:9/"},
                    "shareWith": [bob_id],
                }
                installed = await http.post(
                    "/graphql",
                    json={
                        "query": "mutation($i: InstallMessagingAppInput!) { installMessagingApp(input: $i) { id } }",
                        "variables": {"i": install},
                    },
                )
                app_id = installed.json()["data"]["installMessagingApp"]["id"]
                policy = {"app": app_id, "m": "ROUND_ROBIN", "cap": 3}
                set_policy = await http.post("/graphql", json={"query": SET_POLICY, "variables": policy})
                assert "errors" not in set_policy.json(), set_policy.text

            async def post(server_url: str, n: int) -> int:
                body = json.dumps({"messageId": f"m-{n}", "sender": {"id": f"c-{n}"}, "text": "Hi"}).encode()
                signature = {"X-Switchboard-Signature": sign("s3cret-s3cret-s3cret", body)}
                async with httpx.AsyncClient(base_url=server_url) as client:
                    response = await client.post(f"/webhooks/api/{app_id}", content=body, headers=signature)
                return response.status_code

            statuses = await asyncio.gather(*(post((one, two)[n % 2].url, n) for n in range(20)))

        assert statuses == [200] * 20
        connection = await asyncpg.connect(database.url.replace("postgres://", "postgresql://", 1))
        try:
            held = await connection.fetch(
                "SELECT assignee_id, count(*) AS n FROM conversation GROUP BY assignee_id ORDER BY assignee_id"
            )
            assigned_events = await connection.fetchval(
                "SELECT count(*) FROM inbox_event WHERE type = 'CONVERSATION_ASSIGNED'"
            )
        finally:
            await connection.close()
        assert [row["n"] for row in held] == [3, 3, 14]  # Ana, Bob, then the queue (NULL sorts last)
        assert assigned_events == 6
    finally:
        await database.drop()
