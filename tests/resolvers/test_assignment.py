"""R-AVAIL and R-ASSIGN: who may be given a conversation, and assigning without lost updates."""

import asyncio

import pytest

from models import InboxEvent, InboxEventType
from resolvers.ids import pk_of
from tests.support import ASSIGN, SET_AVAILABILITY, UNASSIGN, Api, interleaved_writers, postgres_only

USERS = "query($only: Boolean) { users(availableOnly: $only) { name available } }"


async def test_r_assign_member_assigns_to_a_colleague_with_access(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()

    assigned = (await api.data(ASSIGN, {"id": conversation, "u": team.carol.id}, token=team.bob.token))[
        "assignConversation"
    ]

    assert assigned["assignee"] == {"id": team.carol.id}
    assert assigned["section"] == "ASSIGNED_TO_OTHERS"
    assert await api.contacts_in(team.carol, "ASSIGNED_TO_ME") == ["cust"]
    assert await api.contacts_in(team.bob, "ASSIGNED_TO_OTHERS") == ["cust"]
    assert await api.contacts_in(team.bob, "UNASSIGNED") == []


async def test_r_assign_reassign_and_unassign_move_the_conversation(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()

    await api.data(ASSIGN, {"id": conversation, "u": team.bob.id}, token=team.bob.token)
    reassigned = (await api.data(ASSIGN, {"id": conversation, "u": team.carol.id}, token=team.bob.token))[
        "assignConversation"
    ]
    assert reassigned["assignee"] == {"id": team.carol.id}
    assert await api.contacts_in(team.bob, "ASSIGNED_TO_ME") == []
    assert await api.contacts_in(team.carol, "ASSIGNED_TO_ME") == ["cust"]

    unassigned = (await api.data(UNASSIGN, {"id": conversation}, token=team.bob.token))["unassignConversation"]
    assert unassigned["assignee"] is None and unassigned["section"] == "UNASSIGNED"
    assert await api.contacts_in(team.carol, "UNASSIGNED") == ["cust"]


@pytest.mark.parametrize("assigner", ["a colleague", "themselves"])
async def test_r_avail_unavailable_user_cannot_be_given_a_conversation(api: Api, assigner: str) -> None:
    team, conversation = await api.create_team_with_conversation()
    await api.data(SET_AVAILABILITY, {"a": False}, token=team.bob.token)
    by = team.carol if assigner == "a colleague" else team.bob

    code = await api.error_code(ASSIGN, {"id": conversation, "u": team.bob.id}, token=by.token)

    assert code == "ASSIGNEE_UNAVAILABLE"
    assert await api.contacts_in(team.bob, "ASSIGNED_TO_ME") == []
    assert await api.contacts_in(team.bob, "UNASSIGNED") == ["cust"]


async def test_r_avail_going_unavailable_keeps_existing_conversations(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()
    await api.data(ASSIGN, {"id": conversation, "u": team.bob.id}, token=team.admin.token)

    user = (await api.data(SET_AVAILABILITY, {"a": False}, token=team.bob.token))["setAvailability"]

    assert user == {"id": team.bob.id, "available": False}
    assert await api.contacts_in(team.bob, "ASSIGNED_TO_ME") == ["cust"]
    await team.app.receive("cust", "still there?")
    assert await api.contacts_in(team.bob, "ASSIGNED_TO_ME") == ["cust"]


async def test_r_avail_each_user_sets_only_their_own_availability(api: Api) -> None:
    team = await api.create_team()

    await api.data(SET_AVAILABILITY, {"a": False}, token=team.bob.token)

    users = (await api.data(USERS, token=team.carol.token))["users"]
    assert {user["name"]: user["available"] for user in users} == {
        "Ana Admin": True,
        "Bob Member": False,
        "Carol Member": True,
    }
    available = (await api.data(USERS, {"only": True}, token=team.carol.token))["users"]
    assert [user["name"] for user in available] == ["Ana Admin", "Carol Member"]
    await api.data(SET_AVAILABILITY, {"a": True}, token=team.bob.token)
    assert (await api.data("{ viewer { available } }", token=team.bob.token))["viewer"] == {"available": True}


async def test_r_assign_assignee_without_access_to_the_app_is_refused(api: Api) -> None:
    team = await api.create_team()
    outsider = await api.create_user(team.admin, "Olga Outsider")
    await team.app.receive("cust")
    conversation = await team.app.conversation_id("cust")

    code = await api.error_code(ASSIGN, {"id": conversation, "u": outsider.id}, token=team.bob.token)

    assert code == "ASSIGNEE_NO_ACCESS"
    assert await api.contacts_in(team.bob, "UNASSIGNED") == ["cust"]


async def test_r_assign_viewer_without_access_gets_not_found(api: Api) -> None:
    team = await api.create_team()
    outsider = await api.create_user(team.admin, "Olga Outsider")
    await team.app.receive("cust")
    conversation = await team.app.conversation_id("cust")

    assert await api.error_code(ASSIGN, {"id": conversation, "u": team.bob.id}, token=outsider.token) == "NOT_FOUND"
    assert await api.error_code(UNASSIGN, {"id": conversation}, token=outsider.token) == "NOT_FOUND"
    assert await api.contacts_in(team.bob, "UNASSIGNED") == ["cust"]


async def test_r_assign_malformed_ids_are_not_found(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()

    for bad in ("", "nonsense", "Q29udmVyc2F0aW9uOi0x", team.bob.id):  # "Conversation:-1"; a User's id
        assert await api.error_code(ASSIGN, {"id": bad, "u": team.bob.id}, token=team.bob.token) == "NOT_FOUND"
    assert await api.error_code(ASSIGN, {"id": conversation, "u": "nonsense"}, token=team.bob.token) == "NOT_FOUND"
    assert await api.error_code(ASSIGN, {"id": conversation, "u": conversation}, token=team.bob.token) == "NOT_FOUND"
    assert await api.contacts_in(team.bob, "UNASSIGNED") == ["cust"]


async def _assignment_events(conversation: str) -> list[InboxEvent]:
    return await InboxEvent.filter(
        conversation_id=pk_of("Conversation", conversation),
        type__in=[InboxEventType.CONVERSATION_ASSIGNED, InboxEventType.CONVERSATION_UNASSIGNED],
    ).order_by("id")


async def test_r_assign_writes_one_event_per_change_with_its_actor(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()

    await api.data(ASSIGN, {"id": conversation, "u": team.carol.id}, token=team.bob.token)
    await api.data(ASSIGN, {"id": conversation, "u": team.carol.id}, token=team.bob.token)  # no change
    await api.data(UNASSIGN, {"id": conversation}, token=team.carol.token)

    events = [(event.type, event.actor_id) for event in await _assignment_events(conversation)]
    assert events == [
        (InboxEventType.CONVERSATION_ASSIGNED, pk_of("User", team.bob.id)),
        (InboxEventType.CONVERSATION_UNASSIGNED, pk_of("User", team.carol.id)),
    ]


async def test_r_assign_concurrent_assignments_never_lose_an_update(api: Api) -> None:
    """Bob and Carol each take the same conversation at once, several times over. One wins; the
    other gets CONFLICT or, if it went second, wins after; the events name exactly the winners."""
    team = await api.create_team()
    for round in range(4):
        contact = f"race-{round}"
        await team.app.receive(contact)
        conversation = await team.app.conversation_id(contact)

        results = await asyncio.gather(
            *(
                api.execute(ASSIGN, {"id": conversation, "u": person.id}, token=person.token)
                for person in (team.bob, team.carol)
            )
        )

        succeeded = [
            person for person, result in zip((team.bob, team.carol), results, strict=True) if not result.get("errors")
        ]
        refused = [result["errors"][0]["extensions"]["code"] for result in results if result.get("errors")]
        assert succeeded and refused in ([], ["CONFLICT"])
        final = (
            await api.data(
                "query($id: ID!) { conversation(id: $id) { assignee { id } } }",
                {"id": conversation},
                token=team.bob.token,
            )
        )["conversation"]["assignee"]["id"]
        events = await _assignment_events(conversation)
        assert sorted(event.actor_id for event in events) == sorted(pk_of("User", person.id) for person in succeeded)
        assert events[-1].actor_id == pk_of("User", final)  # each assigned themselves
        winner = team.bob if final == team.bob.id else team.carol
        assert contact in await api.contacts_in(winner, "ASSIGNED_TO_ME")


async def test_r_assign_compare_and_set_refuses_the_second_of_two_interleaved_writers(
    api: Api, db: str, database: str
) -> None:
    """Both writers have read the conversation before either writes: exactly one may win."""
    url = postgres_only(db, database)
    team, conversation = await api.create_team_with_conversation()

    writers = [
        api.execute(ASSIGN, {"id": conversation, "u": person.id}, token=person.token)
        for person in (team.bob, team.carol)
    ]
    results = await interleaved_writers(url, conversation, writers)

    codes = sorted(result["errors"][0]["extensions"]["code"] if result.get("errors") else "OK" for result in results)
    assert codes == ["CONFLICT", "OK"]
    assert len(await _assignment_events(conversation)) == 1
