"""What third-party clients do over HTTP: subscriptions sent to the HTTP endpoint (Apollo with only
an HttpLink, graphql-request, curl), and several mutations in one document."""

from __future__ import annotations

import logging

import pytest

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
    query = await api.http.post("/graphql", json={"query": document, "operationName": "Me"}, headers={"Authorization": f"Bearer {team.admin.token}"})
    subscription = await api.http.post("/graphql", json={"query": document, "operationName": "Live"}, headers={"Authorization": f"Bearer {team.admin.token}"})

    # then the query is answered and only the subscription is refused
    assert query.json() == {"data": {"viewer": {"name": team.admin.name}}}
    assert subscription.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
