"""What third-party clients do over HTTP: subscriptions sent to the HTTP endpoint (Apollo with only
an HttpLink, graphql-request, curl), and several mutations in one document."""

from __future__ import annotations

import logging
import re

import pytest

from tests.resolvers.crm_support import LINKED, new_person
from tests.support import Api

SUBSCRIPTION = "subscription { inboxEvents { cursor } }"


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_subscription_over_http_is_refused_with_where_subscriptions_are_served(
    api: Api, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    # given a signed-in admin and a client that only speaks HTTP
    team = await api.create_team()
    headers = {"Authorization": f"Bearer {team.admin.token}", "Accept": "application/json"}

    # when it sends a subscription to /graphql
    with caplog.at_level(logging.INFO):
        if method == "POST":
            response = await api.http.post("/graphql", json={"query": SUBSCRIPTION}, headers=headers)
        else:
            response = await api.http.get("/graphql", params={"query": SUBSCRIPTION}, headers=headers)

    # then a clear GraphQL error (graphql-over-http: 200 for a well-formed request answered in
    # application/json), and nothing in the log that looks like a crash
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert "WebSocket at /graphql" in error["message"]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_query_beside_a_subscription_in_one_document_still_runs_over_http(api: Api) -> None:
    # given a document holding a query and a subscription (what GraphiQL sends from one tab)
    team = await api.create_team()
    document = f"query Me {{ viewer {{ name }} }}\nsubscription Live {SUBSCRIPTION.removeprefix('subscription ')}"

    # when the client selects each operation in turn
    query = await api.http.post(
        "/graphql",
        json={"query": document, "operationName": "Me"},
        headers={"Authorization": f"Bearer {team.admin.token}"},
    )
    subscription = await api.http.post(
        "/graphql",
        json={"query": document, "operationName": "Live"},
        headers={"Authorization": f"Bearer {team.admin.token}"},
    )

    # then the query is answered and only the subscription is refused
    assert query.json() == {"data": {"viewer": {"name": team.admin.name}}}
    assert subscription.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


async def test_each_mutation_of_a_document_sees_what_the_mutations_before_it_wrote(api: Api) -> None:
    # given a conversation, a person and a deal
    team = await api.create_team()
    await team.app.receive("cust", "Hello", name="Carla")
    conversation = await team.app.conversation_id("cust")
    person = await new_person(api, team.bob, "Carla Cliente")
    deal = (await api.data('mutation { createDeal(input: {title: "Big order"}) { id } }', token=team.bob.token))[
        "createDeal"
    ]["id"]

    # when one document links the person, then the deal, then unlinks the person
    data = await api.data(
        f"""mutation($id: ID!, $p: ID!, $d: ID!) {{
          a: linkConversation(id: $id, target: {{personId: $p}}) {{ {LINKED} }}
          b: linkConversation(id: $id, target: {{dealId: $d}}) {{ {LINKED} }}
          c: unlinkConversation(id: $id, kind: PERSON) {{ {LINKED} }}
        }}""",
        {"id": conversation, "p": person, "d": deal},
        token=team.bob.token,
    )

    # then each payload is the conversation as it was right after that mutation
    shown = {
        alias: (
            payload["linkedPerson"] and payload["linkedPerson"]["name"],
            payload["linkedDeal"] and payload["linkedDeal"]["title"],
        )
        for alias, payload in data.items()
    }
    assert shown == {"a": ("Carla Cliente", None), "b": ("Carla Cliente", "Big order"), "c": (None, "Big order")}


async def test_graphiql_page_loads_only_this_servers_files(api: Api) -> None:
    # when a browser opens /graphql
    page = await api.http.get("/graphql", headers={"Accept": "text/html"})

    # then the page may load nothing from another origin, and every file it names is served here
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(asset.startswith("/") and not asset.startswith("//") for asset in assets)
    for asset in assets:
        assert (await api.http.get(asset)).status_code == 200, asset
