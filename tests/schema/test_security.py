"""Security limits of the GraphQL endpoint: query size, authentication, introspection, masking, GET."""

from __future__ import annotations

import logging

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
    is_leaf_type,
)

from models import Message
from schema import build_schema
from schema.strawberry_internals import graphql_schema
from settings import Settings
from tests.support import Api

INTROSPECTION = "{ __schema { queryType { name } } }"


def _literal(type_: GraphQLInputType) -> str:
    """A syntactically valid value for an argument of `type_` (its meaning does not matter here)."""
    if isinstance(type_, GraphQLNonNull):
        return _literal(type_.of_type)
    if isinstance(type_, GraphQLList):
        return f"[{_literal(type_.of_type)}]"
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        required = [(name, f) for name, f in type_.fields.items() if isinstance(f.type, GraphQLNonNull)]
        return "{" + ", ".join(f"{name}: {_literal(f.type)}" for name, f in required) + "}"
    assert isinstance(type_, GraphQLScalarType)
    return {"Int": "1", "Float": "1.5", "Boolean": "true", "JSON": "{}"}.get(type_.name, '"x"')


def _operation(kind: str, name: str, field: GraphQLField) -> str:
    args = ", ".join(
        f"{arg}: {_literal(a.type)}" for arg, a in field.args.items() if isinstance(a.type, GraphQLNonNull)
    )
    selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
    return f"{kind} {{ {name}{f'({args})' if args else ''}{selection} }}"


def _root_operations() -> list[tuple[str, str]]:
    schema = graphql_schema(build_schema())
    roots = [("query", schema.query_type), ("mutation", schema.mutation_type)]
    return [
        (name, _operation(kind, name, field)) for kind, root in roots if root for name, field in root.fields.items()
    ]


ROOT_OPERATIONS = _root_operations()
# No token needed (R-SIGNIN): how one gets a password. signIn stays checked: a bad pair is UNAUTHENTICATED too.
PUBLIC = {"requestPasswordReset", "resetPassword"}


@pytest.mark.parametrize(
    "token", [None, "sb_not-a-real-token", "garbage"], ids=["no-token", "unknown-token", "malformed"]
)
async def test_every_root_field_refuses_an_unauthenticated_caller(api: Api, token: str | None) -> None:
    admin = await api.create_account()
    await api.install_api_app(admin)
    failures = {}
    for name, operation in ROOT_OPERATIONS:
        if name in PUBLIC:
            continue
        result = await api.execute(operation, token=token)
        codes = [error.get("extensions", {}).get("code") for error in result.get("errors") or []]
        if codes != ["UNAUTHENTICATED"]:
            failures[name] = result
    assert not failures, failures
    assert len(ROOT_OPERATIONS) >= 18  # the foundation's fields, at least


async def test_an_authenticated_caller_passes_the_same_checks(api: Api) -> None:
    admin = await api.create_account()
    result = await api.execute("{ viewer { name } }", token=admin.token)
    assert result == {"data": {"viewer": {"name": "Ana Admin"}}}


# ---- size limits: QUERY_TOO_COMPLEX before anything runs


def _deep_query(levels: int) -> str:
    inner = "id"
    for _ in range(levels):
        inner = f"lastMessage {{ conversation {{ {inner} }} }}"
    return f"{{ conversations(section: UNASSIGNED) {{ edges {{ node {{ {inner} }} }} }} }}"


async def test_a_query_deeper_than_the_limit_is_too_complex(api: Api, test_settings: Settings) -> None:
    admin = await api.create_account()
    assert not (await api.execute(_deep_query(4), token=admin.token)).get("errors")
    assert await api.error_code(_deep_query(test_settings.max_query_depth), token=admin.token) == "QUERY_TOO_COMPLEX"


async def test_a_query_with_more_tokens_than_the_limit_is_too_complex(api: Api, test_settings: Settings) -> None:
    admin = await api.create_account()
    fields = " ".join(["name"] * test_settings.max_query_tokens)
    assert not (await api.execute("{ viewer { " + " ".join(["name"] * 100) + " } }", token=admin.token)).get("errors")
    assert await api.error_code("{ viewer { " + fields + " } }", token=admin.token) == "QUERY_TOO_COMPLEX"


async def test_a_query_with_more_aliases_than_the_limit_is_too_complex(api: Api, test_settings: Settings) -> None:
    admin = await api.create_account()

    def aliased(n: int) -> str:
        return "{ " + " ".join(f"a{i}: sectionCounts {{ closed }}" for i in range(n)) + " }"

    assert not (await api.execute(aliased(test_settings.max_query_aliases), token=admin.token)).get("errors")
    result = await api.execute(aliased(test_settings.max_query_aliases + 1), token=admin.token)
    assert [e["extensions"]["code"] for e in result["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert result.get("data") is None


async def test_a_too_complex_mutation_changes_nothing(api: Api, test_settings: Settings) -> None:
    admin = await api.create_account()
    many = " ".join(
        f"a{i}: setAvailability(available: false) {{ id }}" for i in range(test_settings.max_query_aliases + 1)
    )
    assert await api.error_code(f"mutation {{ {many} }}", token=admin.token) == "QUERY_TOO_COMPLEX"
    assert await api.data("{ viewer { available } }", token=admin.token) == {"viewer": {"available": True}}


# ---- unexpected errors: masked to INTERNAL, with the request id in the answer and in the log


async def test_an_unexpected_error_is_masked_with_a_request_id_that_is_logged(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await api.create_account()
    app = await api.install_api_app(admin)
    await app.receive("cust-1", "Hi")
    await Message.all().update(attachments=[{"href": "no url key: a row the code never writes"}])
    query = "{ conversations(section: UNASSIGNED) { edges { node { lastMessage { text attachments { url } } } } } }"

    with caplog.at_level(logging.ERROR, logger="switchboard.graphql"):
        result = await api.execute(query, token=admin.token)

    (error,) = result["errors"]
    request_id = error["extensions"]["requestId"]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": request_id}
    assert error["message"] == f"Internal error (request id {request_id})."
    assert "href" not in str(result) and "KeyError" not in str(result)
    (record,) = [r for r in caplog.records if request_id in r.getMessage()]
    assert record.exc_info is not None and record.exc_info[0] is KeyError


async def test_each_request_gets_its_own_request_id(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    admin = await api.create_account()
    app = await api.install_api_app(admin)
    await app.receive("cust-1", "Hi")
    await Message.all().update(attachments=[{}])
    query = "{ conversations(section: UNASSIGNED) { edges { node { lastMessage { attachments { url } } } } } }"
    first = (await api.execute(query, token=admin.token))["errors"][0]["extensions"]["requestId"]
    second = (await api.execute(query, token=admin.token))["errors"][0]["extensions"]["requestId"]
    assert first != second and len(first) >= 8


# ---- introspection


async def test_introspection_is_open_in_development(api: Api) -> None:
    result = await api.execute(INTROSPECTION)
    assert result == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


@pytest.mark.parametrize(
    "query",
    [
        INTROSPECTION,
        '{ __type(name: "Conversation") { fields { name } } }',
        "{ ... on Query { __schema { types { name } } } }",
    ],
    ids=["schema", "type", "in-fragment"],
)
async def test_introspection_needs_a_signed_in_user_in_production(production_api: Api, query: str) -> None:
    for _ in range(2):  # the second time the validation cache answers: the guard must still hold
        result = await production_api.execute(query)
        assert [e["extensions"]["code"] for e in result["errors"]] == ["UNAUTHENTICATED"]
        assert result.get("data") is None


async def test_introspection_is_open_to_signed_in_users_in_production(production_api: Api) -> None:
    admin = await production_api.create_account()
    result = await production_api.execute(INTROSPECTION, token=admin.token)
    assert result == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


# ---- GET


async def test_get_runs_queries_but_never_mutations(api: Api) -> None:
    admin = await api.create_account()
    headers = {"Authorization": f"Bearer {admin.token}"}
    read = await api.http.get("/graphql", params={"query": "{ viewer { available } }"}, headers=headers)
    assert read.status_code == 200 and read.json() == {"data": {"viewer": {"available": True}}}

    write = await api.http.get(
        "/graphql", params={"query": "mutation { setAvailability(available: false) { id } }"}, headers=headers
    )

    assert write.status_code == 400 and "not allowed" in write.text
    assert await api.data("{ viewer { available } }", token=admin.token) == {"viewer": {"available": True}}
