""" "Did you mean …?" hints spell out the schema: none in production (introspection is closed there
to anonymous clients), as ever in development."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Api

INSTALL = "mutation($i: InstallMessagingAppInput!) { installMessagingApp(input: $i) { id } }"
SECTION = "query($s: Section!) { conversations(section: $s) { totalCount } }"
MISTAKES: dict[str, tuple[str, dict[str, Any]]] = {
    "field": ("{ conversatoins(section: UNASSIGNED) { totalCount } }", {}),
    "argument": ("{ conversations(sectoin: UNASSIGNED) { totalCount } }", {}),
    "enum-literal": ("{ conversations(section: UNASIGNED) { totalCount } }", {}),
    "type-name": ("query($s: Sectoin!) { conversations(section: $s) { totalCount } }", {"s": "UNASSIGNED"}),
    "enum-variable": (SECTION, {"s": "UNASIGNED"}),
    "input-field": (INSTALL, {"i": {"provder": "API", "name": "x", "credentials": {}}}),
}


async def _messages(api: Api, query: str, variables: dict[str, Any], token: str | None) -> list[str]:
    result = await api.execute(query, variables, token=token)
    assert result.get("errors"), result
    assert all(error["extensions"]["code"] == "VALIDATION_FAILED" for error in result["errors"]), result
    return [error["message"] for error in result["errors"]]


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
@pytest.mark.parametrize("mistake", MISTAKES.values(), ids=MISTAKES.keys())
async def test_production_errors_suggest_no_names_of_the_schema(
    production_api: Api, mistake: tuple[str, dict[str, Any]], signed_in: bool
) -> None:
    token = (await production_api.create_account()).token if signed_in else None

    messages = await _messages(production_api, *mistake, token)

    assert not any("Did you mean" in message for message in messages), messages
    assert not any(
        name in message for message in messages for name in ("'conversations'", "'section'", "'UNASSIGNED'")
    ), messages


@pytest.mark.parametrize("mistake", MISTAKES.values(), ids=MISTAKES.keys())
async def test_development_errors_still_suggest_the_name_meant(api: Api, mistake: tuple[str, dict[str, Any]]) -> None:
    messages = await _messages(api, *mistake, None)
    assert any("Did you mean" in message for message in messages), messages
