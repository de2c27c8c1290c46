"""A section page costs a constant number of SQL queries, whatever its size (no N+1)."""

from resolvers.clock import ManualClock
from tests.provider_support import ACCOUNT_SID, Inbox, whatsapp_conversation
from tests.resolvers.template_support import send_template, synced_templates, values
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


LABELED_PAGE = """query($first: Int, $label: ID) { conversations(section: UNASSIGNED, labelId: $label, first: $first) {
  totalCount edges { node { id labels { id name color } } } } }"""


async def test_r_label_a_labeled_page_of_50_costs_as_many_queries_as_a_page_of_5(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    create = 'mutation($n: String!) { createLabel(name: $n, color: "#112233") { id } }'
    vip = (await api.data(create, {"n": "VIP"}, token=team.admin.token))["createLabel"]["id"]
    hot = (await api.data(create, {"n": "Hot"}, token=team.admin.token))["createLabel"]["id"]
    for n in range(50):
        clock.advance(seconds=1)
        await team.app.receive(f"cust-{n}", f"message {n}")
        await api.data(
            "mutation($id: ID!, $l: [ID!]!) { setConversationLabels(id: $id, labelIds: $l) { id } }",
            {"id": await team.app.conversation_id(f"cust-{n}"), "l": [vip, hot]},
            token=team.bob.token,
        )

    for label in (None, vip):
        costs = {}
        for size in (5, 50):
            with QueryCounter() as counter:
                page = await api.data(LABELED_PAGE, {"first": size, "label": label}, token=team.bob.token)
            edges = page["conversations"]["edges"]
            assert len(edges) == size
            assert all([lab["name"] for lab in edge["node"]["labels"]] == ["Hot", "VIP"] for edge in edges)
            costs[size] = counter.statements
        # the labels of a page are one query, whatever its size
        assert len(costs[50]) == len(costs[5]), "\n".join(costs[50])


THREAD = """query($id: ID!, $last: Int) { node(id: $id) { ... on Conversation {
  messages(last: $last) { edges { node { text template { name status app { name } } } } } } } }"""
APPS = "{ messagingApps { name templatesSyncedAt templates { name variables app { name } } } }"


async def test_r_template_messages_and_app_template_lists_cost_no_query_per_row(inbox: Inbox) -> None:
    # Given a thread of ten template messages, and templates on the WhatsApp app
    for n in range(4):
        inbox.twilio.add_content(ACCOUNT_SID, f"t{n}", f"Hello {{{{1}}}} #{n}")
    templates = await synced_templates(inbox)
    conversation_id = await whatsapp_conversation(inbox)
    for n in range(10):
        await send_template(inbox, conversation_id, templates[f"t{n % 4}"]["id"], values(_1=f"v{n}"))

    costs = {}
    for size in (2, 11):
        with QueryCounter() as counter:
            thread = await inbox.api.data(THREAD, {"id": conversation_id, "last": size}, token=inbox.admin.token)
        assert len(thread["node"]["messages"]["edges"]) == size
        costs[size] = counter.statements
    with QueryCounter() as counter:
        apps = (await inbox.api.data(APPS, token=inbox.admin.token))["messagingApps"]

    assert len(costs[11]) == len(costs[2]), "\n".join(costs[11])
    assert sorted(len(app["templates"]) for app in apps) == [0, 4]
    # who is asking, their apps, the apps, their templates (one statement for all apps)
    assert len(counter.statements) <= 4, "\n".join(counter.statements)
