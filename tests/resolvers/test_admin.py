"""R-ADMIN: admins change users' names, emails and roles, deactivate and reactivate them; the last
active admin stays; deactivation revokes tokens, closes sockets on every process and unassigns."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from models import ApiToken, InboxEvent, InboxEventType, Notification, OutboxEmail
from models.sql import LOCK_ACCOUNT_ADMINS, AdvisoryLock
from resolvers.ids import pk_of
from settings import Settings
from tests.notify_support import Team, deliver, set_choice, sink, team  # noqa: F401 (fixtures)
from tests.processes import command_env, switchboard
from tests.realtime_support import LONG, SESSION_CHANNEL, RecheckOutOfTheWay, Server, Socket, serving
from tests.schema.test_revocation import CREATE_ADMIN, answered, frames_until_closed
from tests.smtp_sink import SmtpSink
from tests.support import ASSIGN, CLOSE, REOPEN, SET_AVAILABILITY, Api, Person, postgres_only, queued_behind

USER_FIELDS = "id name email role status available"
UPDATE = f"""mutation($id: ID!, $n: String, $e: String, $r: Role) {{
  updateUser(id: $id, name: $n, email: $e, role: $r) {{ {USER_FIELDS} }} }}"""
DEACTIVATE = f"mutation($id: ID!) {{ deactivateUser(id: $id) {{ {USER_FIELDS} }} }}"
REACTIVATE = f"mutation($id: ID!) {{ reactivateUser(id: $id) {{ {USER_FIELDS} }} }}"
USERS = f"query($only: Boolean) {{ users(availableOnly: $only) {{ {USER_FIELDS} }} }}"
ASSIGNEE = "query($id: ID!) { conversation(id: $id) { status assignee { id } } }"


async def team_users(api: Api, admin: Person, *, available_only: bool = False) -> dict[str, dict[str, Any]]:
    """The account's users as an admin lists them, by name."""
    rows = (await api.data(USERS, {"only": available_only}, token=admin.token))["users"]
    return {row["name"]: row for row in rows}


async def refusal(api: Api, query: str, variables: dict[str, Any], person: Person) -> dict[str, Any]:
    """The first error of a mutation expected to fail."""
    result = await api.execute(query, variables, token=person.token)
    assert result.get("errors"), f"expected an error, got {result}"
    error: dict[str, Any] = result["errors"][0]
    return error


async def unassigned_events(conversation: str) -> list[InboxEvent]:
    return await InboxEvent.filter(
        conversation_id=pk_of("Conversation", conversation), type=InboxEventType.CONVERSATION_UNASSIGNED
    ).order_by("id")


# ---- updateUser


async def test_r_admin_admin_changes_name_email_and_role_and_keeps_what_is_not_given(api: Api) -> None:
    admin = await api.create_account()
    bob = await api.create_user(admin, "Bob Member")
    before = (await team_users(api, admin))["Bob Member"]

    renamed = (await api.data(UPDATE, {"id": bob.id, "n": "  Robert Member "}, token=admin.token))["updateUser"]
    changed = (await api.data(UPDATE, {"id": bob.id, "e": "Robert@Team.TEST", "r": "ADMIN"}, token=admin.token))[
        "updateUser"
    ]

    assert renamed == {**before, "name": "Robert Member"}
    assert changed == {**before, "name": "Robert Member", "email": "robert@team.test", "role": "ADMIN"}
    assert (await team_users(api, admin))["Robert Member"] == changed
    # now an admin, with the token they had
    assert (await api.data(CREATE_ADMIN, {"e": "eve@team.test"}, token=bob.token))["createUser"]["user"][
        "role"
    ] == "ADMIN"


async def test_r_admin_markup_and_sql_in_a_name_are_stored_as_plain_text(api: Api) -> None:
    admin = await api.create_account()
    bob = await api.create_user(admin, "Bob Member")
    name = "<script>alert('x')</script> Robert'); DROP TABLE \"user\"; --"

    updated = (await api.data(UPDATE, {"id": bob.id, "n": name}, token=admin.token))["updateUser"]

    assert updated["name"] == name
    assert [row["name"] for row in (await team_users(api, admin)).values()] == ["Ana Admin", name]


async def test_r_admin_an_email_already_in_the_account_is_refused_and_changes_nothing(api: Api) -> None:
    admin = await api.create_account()
    bob = await api.create_user(admin, "Bob Member")
    carol = await api.create_user(admin, "Carol Member")
    other_admin = await api.create_account("Globex", "Gil Admin")
    carols_email = (await team_users(api, admin))["Carol Member"]["email"]
    before = await team_users(api, admin)

    error = await refusal(api, UPDATE, {"id": bob.id, "n": "Bobby", "e": carols_email.upper()}, admin)
    elsewhere = await api.data(UPDATE, {"id": other_admin.id, "e": carols_email}, token=other_admin.token)

    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "email"}
    assert await team_users(api, admin) == before  # not even the name
    assert elsewhere["updateUser"]["email"] == carols_email  # one address per account, not per server
    assert carol.id != bob.id


@pytest.mark.parametrize(
    ("variables", "field"),
    [({"n": "   "}, "name"), ({"n": "x" * 201}, "name"), ({"e": "not-an-address"}, "email"), ({"e": ""}, "email")],
)
async def test_r_admin_a_bad_name_or_email_is_refused_and_changes_nothing(
    api: Api, variables: dict[str, str], field: str
) -> None:
    admin = await api.create_account()
    bob = await api.create_user(admin, "Bob Member")
    before = await team_users(api, admin)

    error = await refusal(api, UPDATE, {"id": bob.id, **variables}, admin)

    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": field}
    assert await team_users(api, admin) == before


# ---- who may


async def test_r_admin_members_may_not_update_deactivate_or_reactivate(api: Api) -> None:
    admin = await api.create_account()
    bob = await api.create_user(admin, "Bob Member")
    carol = await api.create_user(admin, "Carol Member")
    before = await team_users(api, admin)

    codes = [
        await api.error_code(UPDATE, {"id": bob.id, "r": "ADMIN"}, token=bob.token),
        await api.error_code(UPDATE, {"id": carol.id, "n": "Caroline"}, token=bob.token),
        await api.error_code(DEACTIVATE, {"id": carol.id}, token=bob.token),
        await api.error_code(DEACTIVATE, {"id": admin.id}, token=bob.token),
        await api.error_code(REACTIVATE, {"id": carol.id}, token=bob.token),
    ]

    assert codes == ["FORBIDDEN"] * 5
    assert await team_users(api, admin) == before


async def test_r_admin_another_accounts_user_is_not_found(api: Api) -> None:
    admin = await api.create_account()
    other = await api.create_account("Globex", "Gil Admin")
    gus = await api.create_user(other, "Gus Member")
    before = await team_users(api, other)

    codes = [
        await api.error_code(query, {"id": person.id}, token=admin.token)
        for query in (UPDATE, DEACTIVATE, REACTIVATE)
        for person in (other, gus)
    ] + [await api.error_code(UPDATE, {"id": "not-an-id"}, token=admin.token)]

    assert codes == ["NOT_FOUND"] * 7
    assert await team_users(api, other) == before
    assert await api.data("{ viewer { status } }", token=gus.token) == {"viewer": {"status": "ACTIVE"}}


# ---- the last active admin stays


async def test_r_admin_the_last_active_admin_cannot_demote_themselves(api: Api) -> None:
    admin = await api.create_account()
    dora = await api.create_user(admin, "Dora Admin", role="ADMIN")

    await api.data(DEACTIVATE, {"id": dora.id}, token=admin.token)  # a deactivated admin does not count
    error = await refusal(api, UPDATE, {"id": admin.id, "r": "MEMBER"}, admin)
    await api.data(REACTIVATE, {"id": dora.id}, token=admin.token)
    demoted = (await api.data(UPDATE, {"id": admin.id, "r": "MEMBER"}, token=admin.token))["updateUser"]

    assert error["extensions"] == {"code": "FORBIDDEN", "reason": "LAST_ADMIN"}
    assert demoted["role"] == "MEMBER"  # once Dora was active again
    assert (await team_users(api, admin))["Dora Admin"]["role"] == "ADMIN"


async def test_r_admin_deactivating_yourself_as_the_last_admin_is_refused(api: Api) -> None:
    admin = await api.create_account()
    bob = await api.create_user(admin, "Bob Member")
    before = await team_users(api, admin)

    error = await refusal(api, DEACTIVATE, {"id": admin.id}, admin)

    assert error["extensions"] == {"code": "FORBIDDEN", "reason": "LAST_ADMIN"}
    assert await team_users(api, admin) == before
    assert await api.data("{ viewer { name } }", token=admin.token) == {"viewer": {"name": "Ana Admin"}}
    assert bob.id in {row["id"] for row in before.values()}


async def test_r_admin_an_admin_who_is_not_the_last_may_deactivate_themselves(api: Api) -> None:
    admin = await api.create_account()
    dora = await api.create_user(admin, "Dora Admin", role="ADMIN")

    deactivated = (await api.data(DEACTIVATE, {"id": dora.id}, token=dora.token))["deactivateUser"]

    assert deactivated["status"] == "DEACTIVATED"
    assert await api.error_code("{ viewer { id } }", token=dora.token) == "UNAUTHENTICATED"


@pytest.mark.parametrize("change", ["demote", "deactivate"])
async def test_r_admin_two_admins_removing_each_other_at_once_leave_one_admin(
    api: Api, db: str, database: str, change: str
) -> None:
    """Both requests have read the account's two admins before either writes: one must be refused."""
    url = postgres_only(db, database)
    admin = await api.create_account()
    dora = await api.create_user(admin, "Dora Admin", role="ADMIN")
    query, extra = (UPDATE, {"r": "MEMBER"}) if change == "demote" else (DEACTIVATE, {})

    lock = (LOCK_ACCOUNT_ADMINS, int(AdvisoryLock.ACCOUNT_ADMINS), await account_pk(admin))
    writers = [
        api.execute(query, {"id": dora.id, **extra}, token=admin.token),
        api.execute(query, {"id": admin.id, **extra}, token=dora.token),
    ]
    results = await queued_behind(url, lock, writers)

    codes = sorted(result["errors"][0]["extensions"]["code"] if result.get("errors") else "OK" for result in results)
    assert codes == ["FORBIDDEN", "OK"]
    admins = [row for row in (await team_users_any(api, admin, dora)).values() if row["role"] == "ADMIN"]
    active_admins = [row for row in admins if row["status"] == "ACTIVE"]
    assert len(active_admins) == 1


async def account_pk(person: Person) -> int:
    from models import User

    return (await User.get(id=pk_of("User", person.id))).account_id


async def team_users_any(api: Api, *people: Person) -> dict[str, dict[str, Any]]:
    """The team as whichever of `people` is still signed in as an admin lists it."""
    for person in people:
        result = await api.execute(USERS, {"only": False}, token=person.token)
        if not result.get("errors"):
            return {row["name"]: row for row in result["data"]["users"]}
    raise AssertionError("nobody could list the team")


# ---- deactivation


async def test_r_admin_deactivation_revokes_tokens_and_unassigns_open_conversations_with_one_event_each(
    api: Api,
) -> None:
    team = await api.create_team()
    await team.app.receive("open-1")
    await team.app.receive("open-2")
    await team.app.receive("closed-1")
    ids = {contact: await team.app.conversation_id(contact) for contact in ("open-1", "open-2", "closed-1")}
    for conversation in ids.values():
        await api.data(ASSIGN, {"id": conversation, "u": team.bob.id}, token=team.admin.token)
    await api.data(CLOSE, {"id": ids["closed-1"]}, token=team.bob.token)

    deactivated = (await api.data(DEACTIVATE, {"id": team.bob.id}, token=team.admin.token))["deactivateUser"]

    assert deactivated["status"] == "DEACTIVATED" and deactivated["available"] is False
    assert await api.error_code("{ viewer { id } }", token=team.bob.token) == "UNAUTHENTICATED"
    assert not await ApiToken.filter(user_id=pk_of("User", team.bob.id)).exists()
    assert await api.contacts_in(team.carol, "UNASSIGNED") == ["open-2", "open-1"]
    closed = (await api.data(ASSIGNEE, {"id": ids["closed-1"]}, token=team.carol.token))["conversation"]
    assert closed == {"status": "CLOSED", "assignee": {"id": team.bob.id}}  # history stays
    for contact in ("open-1", "open-2"):
        [event] = await unassigned_events(ids[contact])
        assert event.actor_id == pk_of("User", team.admin.id)
    assert await unassigned_events(ids["closed-1"]) == []
    shared = await api.data(
        "query($id: ID!) { node(id: $id) { ... on MessagingApp { sharedWith { name status } } } }",
        {"id": team.app.id},
        token=team.admin.token,
    )
    assert {"name": "Bob Member", "status": "DEACTIVATED"} in shared["node"]["sharedWith"]  # shares stay


async def test_r_admin_deactivating_twice_changes_nothing_more(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()
    await api.data(ASSIGN, {"id": conversation, "u": team.bob.id}, token=team.admin.token)
    await api.data(DEACTIVATE, {"id": team.bob.id}, token=team.admin.token)

    again = (await api.data(DEACTIVATE, {"id": team.bob.id}, token=team.admin.token))["deactivateUser"]

    assert again["status"] == "DEACTIVATED"
    assert len(await unassigned_events(conversation)) == 1


async def test_r_admin_a_deactivated_user_is_not_assignable(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()
    await api.data(DEACTIVATE, {"id": team.bob.id}, token=team.admin.token)

    error = await refusal(api, ASSIGN, {"id": conversation, "u": team.bob.id}, team.carol)

    assert error["extensions"] == {"code": "ASSIGNEE_UNAVAILABLE", "reason": "DEACTIVATED"}
    assert (await api.data(ASSIGNEE, {"id": conversation}, token=team.carol.token))["conversation"]["assignee"] is None


async def test_r_admin_a_deactivated_user_is_listed_as_deactivated_and_not_as_available(api: Api) -> None:
    team = await api.create_team()

    await api.data(DEACTIVATE, {"id": team.bob.id}, token=team.admin.token)

    everyone = await team_users(api, team.admin)
    available = await team_users(api, team.admin, available_only=True)
    assert everyone["Bob Member"]["status"] == "DEACTIVATED" and everyone["Bob Member"]["available"] is False
    assert sorted(available) == ["Ana Admin", "Carol Member"]


async def test_r_admin_a_deactivated_user_is_told_nothing_on_desktop_or_by_email(
    api: Api,
    team: Team,
    sink: SmtpSink,
) -> None:
    for person in (team.bob, team.cleo):
        await set_choice(api, person, "NEW_MESSAGE_UNASSIGNED", desktop=True, email=True)
    await team.app.receive("carla", "Before")  # Bob's email is queued, not yet sent…
    await api.data(DEACTIVATE, {"id": team.bob.id}, token=team.ana.token)  # …when he leaves

    await team.app.receive("dina", "After")
    await deliver(sink)

    bob = pk_of("User", team.bob.id)
    assert await Notification.filter(user_id=bob).count() == 1  # the one from before
    assert sink.to(team.emails[team.bob.id]) == []
    assert len(sink.to(team.emails[team.cleo.id])) == 2
    assert await OutboxEmail.filter(user_id=bob).count() == 1  # queued before, then cancelled


async def test_r_admin_deactivation_and_an_assignment_at_once_leave_no_open_conversation_with_them(
    api: Api, db: str, database: str
) -> None:
    """The assignment has found Bob assignable before the deactivation writes: whichever commits
    first, Bob ends up deactivated with no open conversation."""
    url = postgres_only(db, database)
    team, conversation = await api.create_team_with_conversation()
    bob = pk_of("User", team.bob.id)

    writers = [
        api.execute(ASSIGN, {"id": conversation, "u": team.bob.id}, token=team.carol.token),
        api.execute(DEACTIVATE, {"id": team.bob.id}, token=team.admin.token),
    ]
    assigned, deactivated = await queued_behind(url, ('SELECT 1 FROM "user" WHERE id = $1 FOR UPDATE', bob), writers)

    assert deactivated["data"]["deactivateUser"]["status"] == "DEACTIVATED"
    assert assigned.get("errors") is None or assigned["errors"][0]["extensions"]["code"] == "ASSIGNEE_UNAVAILABLE"
    final = (await api.data(ASSIGNEE, {"id": conversation}, token=team.carol.token))["conversation"]
    assert final == {"status": "OPEN", "assignee": None}


@pytest.mark.parametrize("reopened_by", ["the customer writing", "a colleague"])
async def test_r_admin_a_closed_conversation_of_a_deactivated_user_reopens_unassigned(
    api: Api, reopened_by: str
) -> None:
    team, conversation = await api.create_team_with_conversation()
    await api.data(ASSIGN, {"id": conversation, "u": team.bob.id}, token=team.admin.token)
    await api.data(CLOSE, {"id": conversation}, token=team.bob.token)
    await api.data(DEACTIVATE, {"id": team.bob.id}, token=team.admin.token)

    if reopened_by == "a colleague":
        await api.data(REOPEN, {"id": conversation}, token=team.carol.token)
    else:
        await team.app.receive("cust", "Anyone there?")

    final = (await api.data(ASSIGNEE, {"id": conversation}, token=team.carol.token))["conversation"]
    assert final == {"status": "OPEN", "assignee": None}
    assert await api.contacts_in(team.carol, "UNASSIGNED") == ["cust"]
    [event] = await unassigned_events(conversation)
    assert event.actor_id == (pk_of("User", team.carol.id) if reopened_by == "a colleague" else None)


async def test_r_admin_a_closed_conversation_of_an_active_user_reopens_with_them(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()
    await api.data(ASSIGN, {"id": conversation, "u": team.bob.id}, token=team.admin.token)
    await api.data(CLOSE, {"id": conversation}, token=team.bob.token)
    await api.data(SET_AVAILABILITY, {"a": False}, token=team.bob.token)  # unavailable is not deactivated

    await team.app.receive("cust", "Anyone there?")

    final = (await api.data(ASSIGNEE, {"id": conversation}, token=team.carol.token))["conversation"]
    assert final == {"status": "OPEN", "assignee": {"id": team.bob.id}}
    assert await unassigned_events(conversation) == []


# ---- reactivation


async def test_r_admin_a_reactivated_user_is_active_and_assignable_again_without_their_old_token(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()
    await api.data(DEACTIVATE, {"id": team.bob.id}, token=team.admin.token)

    reactivated = (await api.data(REACTIVATE, {"id": team.bob.id}, token=team.admin.token))["reactivateUser"]
    assigned = await api.data(ASSIGN, {"id": conversation, "u": team.bob.id}, token=team.carol.token)

    assert reactivated["status"] == "ACTIVE" and reactivated["available"] is True
    assert assigned["assignConversation"]["assignee"] == {"id": team.bob.id}
    assert await api.error_code("{ viewer { id } }", token=team.bob.token) == "UNAUTHENTICATED"
    assert "Bob Member" in await team_users(api, team.admin, available_only=True)


# ---- open sockets


class TestOpenSockets(RecheckOutOfTheWay):
    """The periodic re-check is out of the way: what closes the sockets is the mutation's own
    announcement (resolvers.viewer.rights_changed)."""

    async def test_r_admin_a_demoted_admins_open_socket_loses_admin_rights_at_once(
        self, api: Api, server: Server
    ) -> None:
        admin = await api.create_account()
        dora = await api.create_user(admin, "Dora Admin", role="ADMIN")
        async with Socket.opened(server, dora.token) as socket:
            await answered(socket)
            await api.data(UPDATE, {"id": dora.id, "r": "MEMBER"}, token=admin.token)
            _, code = await frames_until_closed(socket)

        assert code == 4403
        async with Socket.opened(server, dora.token) as again:
            refused = await again.message(await again.subscribe(CREATE_ADMIN, {"e": "eve@acme.test"}))
        assert refused["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"


class TestAcrossProcesses(RecheckOutOfTheWay):
    """Two real server processes on one database and one Redis, neither re-checking on its own."""

    @pytest.fixture
    def broker_url(self, redis_url: str) -> str:
        return redis_url

    async def test_r_admin_deactivation_closes_the_users_sockets_on_every_process_at_once(
        self, api: Api, server_settings: Settings, database: str, redis_url: str, tmp_path: Path
    ) -> None:
        admin = await api.create_account()
        bea = await api.create_user(admin, "Bea Member")
        env = command_env(database, REDIS_URL=redis_url, REDIS_CHANNEL=SESSION_CHANNEL)
        env.update(SECRET_KEY="test-secret-key", WEBSOCKET_RECHECK_SECONDS=str(LONG))
        with switchboard("serve", env=env, cwd=tmp_path) as process:
            other = Server(process.url.removeprefix("http://"))
            async with (
                serving(server_settings) as here,
                Socket.opened(here, bea.token) as bea_here,
                Socket.opened(other, bea.token) as bea_there,
                Socket.opened(other, admin.token) as kept,
            ):
                for socket in (bea_here, bea_there):
                    await answered(socket)
                await api.data(DEACTIVATE, {"id": bea.id}, token=admin.token)
                closed = await asyncio.gather(frames_until_closed(bea_here), frames_until_closed(bea_there))
                still = await answered(kept)

        assert [code for _, code in closed] == [4403, 4403]
        assert still == admin.name
