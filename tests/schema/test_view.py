"""/graphql over HTTP: a request body or query string that cannot be read is refused as a GraphQL error."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support import Api

DEPTH = 100_000
UNREADABLE = {
    "nested-arrays": b"[" * DEPTH + b"]" * DEPTH,
    "nested-objects": b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
    "nested-variables": b'{"query": "{ __typename }", "variables": ' + b'{"a":' * DEPTH + b"1" + b"}" * DEPTH + b"}",
    "not-utf8": b'{"query": "{ __typename \xff\xfe }"}',
}


def _refused_as_graphql_error(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "VALIDATION_FAILED"} and error["message"]


@pytest.mark.parametrize("body", UNREADABLE.values(), ids=UNREADABLE.keys())
async def test_an_unreadable_json_body_is_400_with_a_graphql_error(api: Api, body: bytes) -> None:
    response = await api.http.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    _refused_as_graphql_error(response)


async def test_deeply_nested_variables_over_get_are_400_with_a_graphql_error(api: Api) -> None:
    deep = "[" * 10_000 + "]" * 10_000  # what fits in a URL: far past the parser's recursion limit all the same

    response = await api.http.get("/graphql", params={"query": "query($v: [Int]) { __typename }", "variables": deep})

    _refused_as_graphql_error(response)


async def test_every_request_strawberry_cannot_read_is_a_graphql_error(api: Api) -> None:
    for response in (
        await api.http.post("/graphql", content=b"{not json", headers={"Content-Type": "application/json"}),
        await api.http.post("/graphql", content=b"query=x", headers={"Content-Type": "text/plain"}),
        await api.http.post("/graphql", json={"variables": {}}),
        await api.http.post("/graphql", json={"query": 42}),
    ):
        _refused_as_graphql_error(response)


async def test_a_readable_body_is_still_served(api: Api) -> None:
    response = await api.http.post(
        "/graphql",
        content=json.dumps({"query": "{ __typename }"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}
