"""A section page costs a constant number of SQL queries, whatever its size (no N+1)."""

from resolvers.clock import ManualClock
from tests.support import ASSIGN, Api, QueryCounter

PAGE = """query($first: Int) { conversations(section: ASSIGNED_TO_OTHERS, first: $first) { totalCount
  pageInfo { hasNextPage endCursor }
  edges { cursor node { id status section lastMessageAt
    app { name } contact { externalId name } assignee { name available } lastMessage { text direction senderName } } } } }"""


async def test_a_page_of_50_costs_as_many_queries_as_a_page_of_5(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    for n in range(50):
        clock.advance(seconds=1)
        await team.app.receive(f"cust-{n}", f"message {n}", name=f"Customer {n}")
        assignee = team.bob if n % 2 else team.carol
        await api.data(
            ASSIGN, {"id": await team.app.conversation_id(f"cust-{n}"), "u": assignee.id}, token=team.admin.token
        )

    costs = {}
    for size in (5, 50):
        with QueryCounter() as counter:
            page = (await api.data(PAGE, {"first": size}, token=team.admin.token))["conversations"]
        assert len(page["edges"]) == size
        assert {edge["node"]["assignee"]["name"] for edge in page["edges"]} == {"Bob Member", "Carol Member"}
        assert page["edges"][0]["node"]["lastMessage"] == {
            "text": "message 49",
            "direction": "INBOUND",
            "senderName": "Customer 49",
        }
        costs[size] = counter.statements

    assert len(costs[50]) == len(costs[5]), "\n".join(costs[50])
    # who is asking, their apps, the page, its total, the last messages, the apps: nothing per row
    assert len(costs[50]) <= 6, "\n".join(costs[50])
