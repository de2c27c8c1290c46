"""Forged cursors and ids: a number no cursor or id of ours holds is a clear error, never INTERNAL,
on both databases (PostgreSQL refuses a parameter outside an `integer` column's range, SQLite one past 64 bits)."""

from __future__ import annotations

import base64

import pytest

from resolvers.ids import to_api_id
from tests.support import Api, Team

TIME = '"2026-01-05T09:00:00+00:00"'


def forged(key: str) -> str:
    """A cursor holding the JSON array `key`, encoded the way ours are."""
    return base64.urlsafe_b64encode(f"[{key}]".encode()).decode().rstrip("=")


OUT_OF_RANGE = {
    "10^30": str(10**30),
    "past-integer": str(2**31),
    "past-bigint": str(2**63),
    "1e400": "1e400",
    "negative": "-1",
}
GARBAGE = {"true": "true", "float": "1.5", "string": '"12"', "nested": "[" * 5_000 + "]" * 5_000}
NUMBERS = {**OUT_OF_RANGE, **GARBAGE}
SECTION = "query($a: String) { conversations(section: UNASSIGNED, after: $a) { totalCount edges { cursor } } }"
THREAD = "query($c: ID!, $a: String, $b: String) { conversation(id: $c) { messages(first: 5, after: $a) { edges { cursor } } m2: messages(last: 5, before: $b) { edges { cursor } } } }"
NOTIFICATIONS = "query($a: String) { notifications(after: $a) { edges { cursor } } }"
PERSONS = "query($a: String) { persons(after: $a) { edges { cursor } } }"


@pytest.fixture
async def team(api: Api) -> Team:
    team, _ = await api.create_team_with_conversation()
    return team


@pytest.mark.parametrize("number", NUMBERS.values(), ids=NUMBERS.keys())
async def test_a_section_cursor_holding_a_number_out_of_range_or_garbage_is_validation_failed(
    api: Api, team: Team, number: str
) -> None:
    code = await api.error_code(SECTION, {"a": forged(f"{TIME},{number}")}, token=team.bob.token)
    assert code == "VALIDATION_FAILED"


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-13-45T00:00:00+00:00"]
)
async def test_a_section_cursor_holding_a_time_out_of_range_is_validation_failed(
    api: Api, team: Team, moment: str
) -> None:
    code = await api.error_code(SECTION, {"a": forged(f'"{moment}",1')}, token=team.bob.token)
    assert code == "VALIDATION_FAILED"


@pytest.mark.parametrize("number", NUMBERS.values(), ids=NUMBERS.keys())
async def test_a_message_cursor_holding_a_number_out_of_range_or_garbage_is_validation_failed(
    api: Api, team: Team, number: str
) -> None:
    conversation = await team.app.conversation_id("cust")
    for paging in ({"a": forged(number)}, {"b": forged(number)}):
        assert await api.error_code(THREAD, {"c": conversation, **paging}, token=team.bob.token) == "VALIDATION_FAILED"


@pytest.mark.parametrize(
    "number",
    [str(10**30), str(2**63), "1e400", "-1", "true"],
    ids=["10^30", "past-bigint", "1e400", "negative", "true"],
)
async def test_a_notification_cursor_holding_a_number_out_of_range_is_validation_failed(
    api: Api, team: Team, number: str
) -> None:
    assert await api.error_code(NOTIFICATIONS, {"a": forged(number)}, token=team.bob.token) == "VALIDATION_FAILED"


@pytest.mark.parametrize("number", NUMBERS.values(), ids=NUMBERS.keys())
async def test_a_crm_cursor_holding_a_number_out_of_range_or_garbage_is_validation_failed(
    api: Api, team: Team, number: str
) -> None:
    assert await api.error_code(PERSONS, {"a": forged(f'"Zed",{number}')}, token=team.bob.token) == "VALIDATION_FAILED"


async def test_a_cursor_at_the_edge_of_the_range_is_served(api: Api, team: Team) -> None:
    conversation = await team.app.conversation_id("cust")
    page = await api.data(SECTION, {"a": forged(f"{TIME},{2**31 - 1}")}, token=team.bob.token)
    assert page["conversations"]["totalCount"] == 1
    thread = await api.data(THREAD, {"c": conversation, "a": forged(str(2**31 - 1))}, token=team.bob.token)
    assert thread["conversation"]["messages"]["edges"] == []
    newest_first = await api.data(NOTIFICATIONS, {"a": forged(str(2**63 - 1))}, token=team.bob.token)
    assert newest_first == await api.data(NOTIFICATIONS, {"a": None}, token=team.bob.token)


def _raw_id(type_name: str, number: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{number}".encode()).decode().rstrip("=")


BEYOND = {"past-integer": 2**31, "2^62": 2**62, "past-bigint": 2**63, "10^30": 10**30}


@pytest.mark.parametrize("number", BEYOND.values(), ids=BEYOND.keys())
async def test_an_id_beyond_the_databases_range_does_not_exist(api: Api, team: Team, number: int) -> None:
    for type_name in ("Conversation", "Message", "User", "MessagingApp", "Person", "Notification", "Account"):
        found = await api.data(
            "query($id: ID!) { node(id: $id) { id } }", {"id": _raw_id(type_name, number)}, token=team.bob.token
        )
        assert found == {"node": None}, type_name
    found = await api.data(
        "query($id: ID!) { conversation(id: $id) { id } }",
        {"id": _raw_id("Conversation", number)},
        token=team.bob.token,
    )
    assert found == {"conversation": None}


@pytest.mark.parametrize("number", BEYOND.values(), ids=BEYOND.keys())
async def test_a_mutation_naming_an_id_beyond_the_databases_range_is_not_found(
    api: Api, team: Team, number: int
) -> None:
    conversation = await team.app.conversation_id("cust")
    far = {
        name: _raw_id(name, number)
        for name in ("Conversation", "User", "MessagingApp", "Person", "Note", "Notification")
    }
    refusals = [
        ("mutation($c: ID!) { closeConversation(id: $c) { id } }", {"c": far["Conversation"]}, team.bob),
        (
            "mutation($c: ID!, $u: ID!) { assignConversation(id: $c, userId: $u) { id } }",
            {"c": conversation, "u": far["User"]},
            team.bob,
        ),
        (
            "mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, text: $t) { id } }",
            {"c": far["Conversation"], "t": "hi"},
            team.bob,
        ),
        (
            "mutation($a: ID!, $u: [ID!]!) { shareMessagingApp(id: $a, userIds: $u) { id } }",
            {"a": team.app.id, "u": [far["User"]]},
            team.admin,
        ),
        ("mutation($a: ID!) { uninstallMessagingApp(id: $a) }", {"a": far["MessagingApp"]}, team.admin),
        (
            "mutation($c: ID!, $p: ID!) { linkConversation(id: $c, target: {personId: $p}) { id } }",
            {"c": conversation, "p": far["Person"]},
            team.bob,
        ),
        ("mutation($n: ID!) { deleteNote(id: $n) }", {"n": far["Note"]}, team.bob),
        ("mutation($n: [ID!]) { markNotificationsRead(ids: $n) }", {"n": [far["Notification"]]}, team.bob),
    ]
    for mutation, variables, person in refusals:
        result = await api.execute(mutation, variables, token=person.token)
        if result.get("errors"):
            assert result["errors"][0]["extensions"]["code"] in ("NOT_FOUND", "VALIDATION_FAILED"), (mutation, result)
        else:
            assert result["data"] == {"markNotificationsRead": 0}, (mutation, result)
    assert (await api.section(team.bob, "UNASSIGNED"))["totalCount"] == 1


def test_api_ids_of_rows_at_the_top_of_their_range_still_parse() -> None:
    from resolvers.ids import parse_api_id

    assert parse_api_id(to_api_id("Conversation", 2**31 - 1)) == ("Conversation", 2**31 - 1)
    assert parse_api_id(to_api_id("Notification", 2**63 - 1)) == ("Notification", 2**63 - 1)


@pytest.mark.parametrize("number", BEYOND.values(), ids=BEYOND.keys())
async def test_a_webhook_for_an_app_id_beyond_the_databases_range_is_404(api: Api, team: Team, number: int) -> None:
    response = await api.http.post(f"/webhooks/api/{_raw_id('MessagingApp', number)}", content=b"{}")
    assert response.status_code == 404
