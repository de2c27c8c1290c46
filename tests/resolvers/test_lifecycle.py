"""R-CLOSE and R-DELETE: closing, reopening, and deleting a conversation for good."""

from models import InboxEvent, InboxEventType
from resolvers.clock import ManualClock
from resolvers.ids import pk_of
from tests.support import ASSIGN, CLOSE, DELETE, REOPEN, Api, interleaved_writers, postgres_only

THREAD = """query($id: ID!) { conversation(id: $id) { id status section assignee { id } lastMessage { text }
  messages(first: 100) { edges { node { id text } } } } }"""


async def _events(conversation: str) -> list[InboxEventType]:
    rows = await InboxEvent.filter(conversation_id=pk_of("Conversation", conversation)).order_by("id")
    return [row.type for row in rows]


async def test_r_close_keeps_the_assignee_and_shows_in_closed_for_everyone_with_access(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()
    await api.data(ASSIGN, {"id": conversation, "u": team.bob.id}, token=team.admin.token)

    closed = (await api.data(CLOSE, {"id": conversation}, token=team.carol.token))["closeConversation"]

    assert closed["status"] == "CLOSED" and closed["section"] == "CLOSED"
    assert closed["assignee"] == {"id": team.bob.id}
    for person in (team.admin, team.bob, team.carol):
        assert await api.contacts_in(person, "CLOSED") == ["cust"]
    assert await api.contacts_in(team.bob, "ASSIGNED_TO_ME") == []


async def test_r_close_reopen_puts_an_assigned_conversation_back_with_its_assignee(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()
    await api.data(ASSIGN, {"id": conversation, "u": team.bob.id}, token=team.admin.token)
    await api.data(CLOSE, {"id": conversation}, token=team.bob.token)

    reopened = (await api.data(REOPEN, {"id": conversation}, token=team.carol.token))["reopenConversation"]

    assert reopened["status"] == "OPEN" and reopened["section"] == "ASSIGNED_TO_OTHERS"
    assert await api.contacts_in(team.bob, "ASSIGNED_TO_ME") == ["cust"]
    assert await api.contacts_in(team.carol, "ASSIGNED_TO_OTHERS") == ["cust"]
    assert await api.contacts_in(team.carol, "CLOSED") == []


async def test_r_close_reopen_puts_an_unassigned_conversation_back_in_unassigned(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()
    await api.data(CLOSE, {"id": conversation}, token=team.bob.token)

    reopened = (await api.data(REOPEN, {"id": conversation}, token=team.bob.token))["reopenConversation"]

    assert reopened["section"] == "UNASSIGNED"
    assert await api.contacts_in(team.carol, "UNASSIGNED") == ["cust"]


async def test_r_close_each_change_writes_one_event_and_repeating_it_writes_none(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()

    await api.data(CLOSE, {"id": conversation}, token=team.bob.token)
    await api.data(CLOSE, {"id": conversation}, token=team.bob.token)
    await api.data(REOPEN, {"id": conversation}, token=team.bob.token)
    await api.data(REOPEN, {"id": conversation}, token=team.bob.token)

    assert await _events(conversation) == [
        InboxEventType.CONVERSATION_CREATED,
        InboxEventType.MESSAGE_RECEIVED,
        InboxEventType.CONVERSATION_CLOSED,
        InboxEventType.CONVERSATION_REOPENED,
    ]


async def test_r_close_two_people_closing_at_once_both_see_it_closed_and_one_event_is_written(
    api: Api, db: str, database: str
) -> None:
    url = postgres_only(db, database)
    team, conversation = await api.create_team_with_conversation()

    closers = [api.data(CLOSE, {"id": conversation}, token=person.token) for person in (team.bob, team.carol)]
    results = await interleaved_writers(url, conversation, closers)

    assert [result["closeConversation"]["status"] for result in results] == ["CLOSED", "CLOSED"]
    assert (await _events(conversation)).count(InboxEventType.CONVERSATION_CLOSED) == 1


async def test_r_close_without_access_is_not_found(api: Api) -> None:
    team = await api.create_team()
    outsider = await api.create_user(team.admin, "Olga Outsider")
    await team.app.receive("cust")
    conversation = await team.app.conversation_id("cust")

    assert await api.error_code(CLOSE, {"id": conversation}, token=outsider.token) == "NOT_FOUND"
    assert await api.error_code(REOPEN, {"id": conversation}, token=outsider.token) == "NOT_FOUND"
    assert await api.contacts_in(team.bob, "UNASSIGNED") == ["cust"]


async def test_r_delete_by_the_installer_removes_the_conversation_and_its_history(api: Api) -> None:
    team = await api.create_team()
    await team.app.receive("cust", "secret order details")
    conversation = await team.app.conversation_id("cust")
    message = (await api.data(THREAD, {"id": conversation}, token=team.bob.token))["conversation"]["messages"]["edges"][
        0
    ]["node"]["id"]

    deleted = (await api.data(DELETE, {"id": conversation}, token=team.admin.token))["deleteConversation"]

    assert deleted == conversation
    assert (await api.data(THREAD, {"id": conversation}, token=team.bob.token))["conversation"] is None
    assert (await api.data("query($id: ID!) { node(id: $id) { id } }", {"id": message}, token=team.bob.token))[
        "node"
    ] is None
    assert (await api.data("query($id: ID!) { node(id: $id) { id } }", {"id": conversation}, token=team.admin.token))[
        "node"
    ] is None
    assert await api.error_code(CLOSE, {"id": conversation}, token=team.bob.token) == "NOT_FOUND"
    assert await api.error_code(DELETE, {"id": conversation}, token=team.admin.token) == "NOT_FOUND"
    assert (await _events(conversation))[-1] == InboxEventType.CONVERSATION_DELETED


async def test_r_delete_is_forbidden_to_an_admin_who_did_not_install_the_app(api: Api) -> None:
    team = await api.create_team()
    other_admin = await api.create_user(team.admin, "Dora Admin", role="ADMIN")
    await api.data(
        "mutation($id: ID!, $u: [ID!]!) { shareMessagingApp(id: $id, userIds: $u) { id } }",
        {"id": team.app.id, "u": [team.bob.id, team.carol.id, other_admin.id]},
        token=team.admin.token,
    )
    await team.app.receive("cust")
    conversation = await team.app.conversation_id("cust")

    assert await api.error_code(DELETE, {"id": conversation}, token=other_admin.token) == "FORBIDDEN"
    assert await api.contacts_in(other_admin, "UNASSIGNED") == ["cust"]


async def test_r_delete_is_forbidden_to_a_member_with_access(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()

    assert await api.error_code(DELETE, {"id": conversation}, token=team.bob.token) == "FORBIDDEN"
    thread = (await api.data(THREAD, {"id": conversation}, token=team.bob.token))["conversation"]
    assert [edge["node"]["text"] for edge in thread["messages"]["edges"]] == ["Hello"]


async def test_r_delete_then_a_new_message_brings_back_only_the_new_messages_open_and_unassigned(
    api: Api, clock: ManualClock
) -> None:
    team = await api.create_team()
    await team.app.receive("cust", "old one", message_id="m-1")
    await team.app.receive("cust", "old two", message_id="m-2")
    conversation = await team.app.conversation_id("cust")
    await api.data(ASSIGN, {"id": conversation, "u": team.bob.id}, token=team.admin.token)
    await api.data(CLOSE, {"id": conversation}, token=team.bob.token)
    await api.data(DELETE, {"id": conversation}, token=team.admin.token)
    clock.advance(hours=1)

    await team.app.receive("cust", "m-1 retried", message_id="m-1")  # a late retry of a deleted message
    assert await api.contacts_in(team.bob, "UNASSIGNED") == []
    await team.app.receive("cust", "new one", message_id="m-3")

    assert await api.contacts_in(team.bob, "UNASSIGNED") == ["cust"]
    resurrected = await team.app.conversation_id("cust")
    thread = (await api.data(THREAD, {"id": resurrected}, token=team.bob.token))["conversation"]
    assert thread["status"] == "OPEN" and thread["assignee"] is None and thread["section"] == "UNASSIGNED"
    assert [edge["node"]["text"] for edge in thread["messages"]["edges"]] == ["new one"]
    assert thread["lastMessage"] == {"text": "new one"}
    assert await api.contacts_in(team.bob, "CLOSED") == []
