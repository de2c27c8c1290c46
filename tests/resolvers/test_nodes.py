"""`node(id)` and `conversation(id)`: what the viewer may not see does not exist for them."""

from resolvers.ids import to_api_id
from tests.support import Api

NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on Conversation { status contact { externalId } }
  ... on Message { text conversation { id } }
  ... on Contact { externalId }
  ... on MessagingApp { name }
  ... on User { name }
  ... on Account { name } } }"""
THREAD = "query($id: ID!) { conversation(id: $id) { id contact { id } messages(first: 1) { edges { node { id } } } } }"


async def _node(api: Api, token: str, api_id: str) -> dict | None:
    return (await api.data(NODE, {"id": api_id}, token=token))["node"]


async def test_node_returns_every_kind_the_viewer_may_see(api: Api) -> None:
    team = await api.create_team()
    await team.app.receive("cust", "hello there")
    conversation = await team.app.conversation_id("cust")
    thread = (await api.data(THREAD, {"id": conversation}, token=team.bob.token))["conversation"]
    message = thread["messages"]["edges"][0]["node"]["id"]
    account = (await api.data("{ account { id } }", token=team.bob.token))["account"]["id"]

    assert await _node(api, team.bob.token, conversation) == {
        "__typename": "Conversation",
        "id": conversation,
        "status": "OPEN",
        "contact": {"externalId": "cust"},
    }
    assert await _node(api, team.bob.token, message) == {
        "__typename": "Message",
        "id": message,
        "text": "hello there",
        "conversation": {"id": conversation},
    }
    assert (await _node(api, team.bob.token, thread["contact"]["id"]))["externalId"] == "cust"
    assert (await _node(api, team.bob.token, team.app.id))["name"] == "Website chat"
    assert (await _node(api, team.bob.token, team.carol.id))["name"] == "Carol Member"
    assert (await _node(api, team.bob.token, account))["name"] == "Acme"


async def test_node_and_conversation_are_null_for_an_app_not_shared_with_the_viewer(api: Api) -> None:
    team = await api.create_team()
    private = await api.install_api_app(team.admin, name="Ana only")
    other_admin = await api.create_user(team.admin, "Dora Admin", role="ADMIN")
    await private.receive("cust")
    conversation = await private.conversation_id("cust")
    thread = (await api.data(THREAD, {"id": conversation}, token=team.admin.token))["conversation"]
    hidden = [conversation, thread["contact"]["id"], thread["messages"]["edges"][0]["node"]["id"]]

    for person in (team.bob, other_admin):
        assert (await api.data(THREAD, {"id": conversation}, token=person.token))["conversation"] is None
        for api_id in hidden:
            assert await _node(api, person.token, api_id) is None, api_id
    assert await _node(api, team.bob.token, private.id) is None
    assert (await _node(api, other_admin.token, private.id))["name"] == "Ana only"  # admins manage every app


async def test_node_of_a_malformed_or_unknown_id_is_null(api: Api) -> None:
    team = await api.create_team()

    for api_id in (
        "",
        "nonsense",
        "%%%",
        to_api_id("Conversation", 999),
        to_api_id("Spaceship", 1),
        "Q29udmVyc2F0aW9uOmFiYw",
    ):
        assert await _node(api, team.bob.token, api_id) is None, api_id
        assert (await api.data(THREAD, {"id": api_id}, token=team.bob.token))["conversation"] is None
