"""Every string a client sends reaches the resolvers cleaned (NUL and lone surrogates become U+FFFD),
in variables (JSON scalars included) and in literals; what the database still refuses is
VALIDATION_FAILED, never INTERNAL, and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from models import MessagingApp, Person, User
from resolvers.credentials import decrypt_credentials
from resolvers.pagination import encode_cursor
from tests.support import Api

POISONS = {"nul": "\u0000", "lone-surrogate": "\ud800"}
SEEN = "\ufffd"
CREATE_PERSON = "mutation($i: NewPersonInput!) { createPerson(input: $i) { name phone } }"
CREATE_USER = "mutation($n: String!, $e: String!) { createUser(name: $n, email: $e) { user { name email } } }"
INSTALL = "mutation($i: InstallMessagingAppInput!) { installMessagingApp(input: $i) { name } }"
PERSONS = "query($s: String, $after: String) { persons(search: $s, after: $after) { edges { node { name } } } }"


async def execute(api: Api, query: str, variables: dict[str, Any] | None = None, *, token: str) -> dict[str, Any]:
    """As a client's JSON library sends it: a lone surrogate as the escape \\ud800 (httpx's own
    encoder writes raw UTF-8, which cannot hold one)."""
    body = json.dumps({"query": query, "variables": variables or {}})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    response = await api.http.post("/graphql", content=body, headers=headers)
    assert response.status_code in (200, 400), response.text
    return response.json()


def codes(result: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in result.get("errors") or []]


@pytest.mark.parametrize("poison", POISONS.values(), ids=POISONS.keys())
async def test_create_person_stores_poisoned_variables_cleaned(api: Api, poison: str) -> None:
    admin = await api.create_account()

    result = await execute(
        api, CREATE_PERSON, {"i": {"name": f"Car{poison}la", "phone": f"+55{poison}1"}}, token=admin.token
    )

    assert codes(result) == [] and result["data"]["createPerson"] == {"name": f"Car{SEEN}la", "phone": f"+55{SEEN}1"}
    assert await Person.all().values_list("name", "phone") == [(f"Car{SEEN}la", f"+55{SEEN}1")]


@pytest.mark.parametrize("poison", POISONS.values(), ids=POISONS.keys())
async def test_create_user_stores_a_poisoned_name_cleaned_and_refuses_a_poisoned_email(api: Api, poison: str) -> None:
    admin = await api.create_account()

    created = await execute(api, CREATE_USER, {"n": f"Bea{poison}", "e": "bea@team.test"}, token=admin.token)
    refused = await execute(api, CREATE_USER, {"n": "Cy", "e": f"cy{poison}@team.test"}, token=admin.token)

    assert codes(created) == [] and created["data"]["createUser"]["user"]["name"] == f"Bea{SEEN}"
    assert codes(refused) == ["VALIDATION_FAILED"] and refused["errors"][0]["extensions"]["field"] == "email"
    assert sorted(await User.all().values_list("name", flat=True)) == ["Ana Admin", f"Bea{SEEN}"]


@pytest.mark.parametrize("poison", POISONS.values(), ids=POISONS.keys())
async def test_install_messaging_app_cleans_its_name_and_the_credentials_json(api: Api, poison: str) -> None:
    admin = await api.create_account()
    credentials = {"secret": f"s3cret-s3cret-s3cret{poison}", "deliveryUrl": "https://chat.example/deliver"}

    result = await execute(
        api, INSTALL, {"i": {"provider": "API", "name": f"Chat{poison}", "credentials": credentials}}, token=admin.token
    )

    assert codes(result) == [] and result["data"]["installMessagingApp"] == {"name": f"Chat{SEEN}"}
    app = await MessagingApp.get()
    assert decrypt_credentials(app.credentials_encrypted)["secret"] == f"s3cret-s3cret-s3cret{SEEN}"


@pytest.mark.parametrize("poison", POISONS.values(), ids=POISONS.keys())
async def test_persons_search_with_a_poisoned_term_answers(api: Api, poison: str) -> None:
    admin = await api.create_account()
    await api.data(CREATE_PERSON, {"i": {"name": "Carla"}}, token=admin.token)

    result = await execute(api, PERSONS, {"s": f"Car{poison}"}, token=admin.token)

    assert codes(result) == [] and result["data"]["persons"]["edges"] == []


async def test_string_literals_are_cleaned_too(api: Api) -> None:
    admin = await api.create_account()

    escaped = await execute(
        api, 'mutation { createPerson(input: {name: "Esc\\u0000aped"}) { name } }', token=admin.token
    )
    raw = await execute(api, 'mutation { createPerson(input: {name: "Raw\u0000"}) { name } }', token=admin.token)
    block = await execute(
        api, 'mutation { createPerson(input: {name: """Block\u0000"""}) { name } }', token=admin.token
    )
    surrogate = await execute(
        api, 'mutation { createPerson(input: {name: "Lone\\ud800"}) { name } }', token=admin.token
    )

    assert [r["data"]["createPerson"]["name"] for r in (escaped, raw, block)] == [
        f"Esc{SEEN}aped",
        f"Raw{SEEN}",
        f"Block{SEEN}",
    ]
    assert codes(surrogate) == ["VALIDATION_FAILED"]  # the parser refuses a lone surrogate escape
    assert sorted(await Person.all().values_list("name", flat=True)) == [f"Block{SEEN}", f"Esc{SEEN}aped", f"Raw{SEEN}"]


async def test_a_value_the_database_refuses_is_validation_failed_never_internal(api: Api, db: str) -> None:
    # given a forged cursor holding a NUL: cursors are decoded past the cleaning, straight into SQL
    admin = await api.create_account()
    await api.data(CREATE_PERSON, {"i": {"name": "Carla"}}, token=admin.token)

    result = await execute(api, PERSONS, {"after": encode_cursor("A\u0000", 1)}, token=admin.token)

    # then PostgreSQL's refusal is the client's error (SQLite compares the text and answers)
    assert "INTERNAL" not in codes(result)
    assert codes(result) == (["VALIDATION_FAILED"] if db == "postgres" else [])
