"""The query planner (docs/DESIGN.md §5 "Execution"): every document compiled once, run by plan,
answering byte for byte what the reference executor (Strawberry on graphql-core) answers.

Every query the suite sends through `tests.support.Api` is also run by the reference executor
against the same data and must give the same bytes (tests/support.py); the tests here cover what
that cannot: mutations, errors and null propagation, the plan cache, fallbacks, and the documents
of the web app, the README and the docs, which must all compile.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import orjson
import pytest
from graphql import DocumentNode, OperationDefinitionNode, parse, validate
from strawberry.utils.await_maybe import await_maybe

from resolvers.viewer import authenticate
from schema import build_schema
from schema.context import Context
from schema.planner import Planner, reference_only
from schema.planner.compile import Compiler, directive_variables
from schema.planner.settle import settle
from settings import Settings, get_settings, use_settings
from tests.conftest import empty_all_tables
from tests.support import ASSIGN, CLOSE, REOPEN, SECTION_PAGE, UNASSIGN, Api

ROOT = Path(__file__).resolve().parents[2]


def _planner(api: Api) -> Planner:
    app = api.app
    while not hasattr(app, "routes"):  # through the middleware around the Starlette app
        app = app.app
    view = next(route.endpoint for route in app.routes if getattr(route, "path", "") == "/graphql")
    planner = view.schema.planner
    assert planner is not None, "the default executor is the planner"
    return planner


# ---------------------------------------------------------------- the documents that must compile


def _js_documents() -> list[str]:
    """The GraphQL documents of the web app (schema/web/js): its template strings that start an
    operation, with the app's constants put in and conditional parts taken (feature on)."""
    sources = {path.name: path.read_text() for path in sorted((ROOT / "schema/web/js").glob("*.js"))}
    constants: dict[str, str] = {}
    for text in sources.values():
        for name, value in re.findall(r'const (\w+) = (\d+|"[^"\n]*"|`[^`]*`);', text):
            constants[name] = value.strip('"`')

    def expand(text: str, depth: int = 0) -> str:
        def one(match: re.Match[str]) -> str:
            expression = match.group(1).strip()
            ternary = re.fullmatch(r'.+\?\s*(?:"([^"]*)"|(\w+))\s*:.*', expression, re.S)
            if ternary:
                return ternary.group(1) if ternary.group(1) is not None else constants.get(ternary.group(2), "")
            return constants.get(expression, match.group(0))

        expanded = re.sub(r"\$\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}", one, text)
        return expand(expanded, depth + 1) if "${" in expanded and expanded != text and depth < 5 else expanded

    documents = []
    for text in sources.values():
        for literal in re.findall(r'`([^`]*)`|"((?:query|mutation|subscription|\{ )[^"\n]*)"', text):
            candidate = expand(literal[0] or literal[1]).strip()
            if (
                re.match(r"(query|mutation|subscription)\b[\w\s(),$:!\[\]=\"]*\{|\{\s*\w", candidate)
                and candidate.endswith("}")
                and "${" not in candidate
            ):
                documents.append(candidate)
    return documents


def _markdown_documents() -> list[str]:
    documents = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        documents += re.findall(r"```graphql\n(.*?)```", path.read_text(), re.S)
    return documents


def _compiles(schema: Any, text: str) -> list[str]:
    """Why each operation of `text` would fall back (nothing when it compiles). The docs list
    several anonymous operations in one block: each is checked on its own, with the fragments."""
    document = parse(text)
    fragments = {d.name.value: d for d in document.definitions if not isinstance(d, OperationDefinitionNode)}
    reasons = []
    for operation in (d for d in document.definitions if isinstance(d, OperationDefinitionNode)):
        alone = DocumentNode(definitions=(operation, *fragments.values()))
        errors = validate(schema._schema, alone)
        if errors:
            reasons.append(f"invalid: {errors[0].message}")
            continue
        try:
            values = dict.fromkeys(directive_variables(alone.definitions), True)
            Compiler(schema._schema, schema, fragments, values).operation(operation)  # type: ignore[arg-type]
        except Exception as error:
            reasons.append(f"{type(error).__name__}: {error}")
    return reasons


def test_the_web_apps_and_the_docs_documents_all_compile_none_falls_back() -> None:
    schema = build_schema()
    web = _js_documents()
    docs = _markdown_documents()
    assert len(web) >= 15 and len(docs) >= 10, (len(web), len(docs))
    failures = {text: reasons for text in web + docs if (reasons := _compiles(schema, text))}
    assert failures == {}, "\n\n".join(f"{text}\n-> {reasons}" for text, reasons in failures.items())


# ---------------------------------------------------------------- served by plan, same bytes


async def _post(api: Api, query: str, variables: dict[str, Any], token: str, *, reference: bool = False) -> bytes:
    marker = reference_only.set(reference)
    try:
        response = await api.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {token}"}
        )
    finally:
        reference_only.reset(marker)
    return response.content


async def test_a_section_page_is_served_by_its_plan_compiled_once(api: Api) -> None:
    team, _ = await api.create_team_with_conversation()
    planner = _planner(api)
    compiled, executed = planner.stats.compiled, planner.stats.executed
    for _ in range(3):
        await _post(api, SECTION_PAGE, {"s": "UNASSIGNED"}, team.bob.token)
    assert planner.stats.executed == executed + 3
    assert planner.stats.compiled == compiled + 1
    assert not planner.stats.fallbacks


NULL_PROPAGATION = """query($id: ID!) {
  viewer { name }
  conversation(id: $id) { id messages(first: 0) { edges { node { id } } } }
}"""


async def test_an_error_in_a_non_null_field_nulls_its_nearest_nullable_parent_and_keeps_the_rest(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()
    planned = await _post(api, NULL_PROPAGATION, {"id": conversation}, team.bob.token)
    result = orjson.loads(planned)
    assert result["data"] == {"viewer": {"name": "Bob Member"}, "conversation": None}
    (error,) = result["errors"]
    assert error["path"] == ["conversation", "messages"]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert error["locations"] == [{"line": 3, "column": 30}]
    assert planned == await _post(api, NULL_PROPAGATION, {"id": conversation}, team.bob.token, reference=True)


async def test_an_error_at_the_root_of_a_non_null_field_nulls_the_whole_data(api: Api) -> None:
    team, _ = await api.create_team_with_conversation()
    query = "{ viewer { name } conversations(section: UNASSIGNED, first: 500) { totalCount } }"
    planned = await _post(api, query, {}, team.bob.token)
    result = orjson.loads(planned)
    assert result["data"] is None
    assert [error["path"] for error in result["errors"]] == [["conversations"]]
    assert planned == await _post(api, query, {}, team.bob.token, reference=True)


FRAGMENTS = """query($id: ID!, $withContact: Boolean!, $skipStatus: Boolean = true) {
  a: node(id: $id) { __typename id ...C ... on User { name } }
  b: conversation(id: $id) { ...C status @skip(if: $skipStatus) contact @include(if: $withContact) { externalId } }
}
fragment C on Conversation { id section assignee { name } ... on Node { id } }"""


@pytest.mark.parametrize("with_contact", [True, False])
async def test_fragments_interfaces_directives_and_defaults_answer_as_the_reference(
    api: Api, with_contact: bool
) -> None:
    team, conversation = await api.create_team_with_conversation()
    variables = {"id": conversation, "withContact": with_contact}
    planned = await _post(api, FRAGMENTS, variables, team.bob.token)
    result = orjson.loads(planned)
    assert list(result["data"]["a"]) == ["__typename", "id", "section", "assignee"]
    assert ("contact" in result["data"]["b"]) is with_contact and "status" not in result["data"]["b"]
    assert planned == await _post(api, FRAGMENTS, variables, team.bob.token, reference=True)


# ---------------------------------------------------------------- mutations


async def _reset_ids(db: str) -> None:
    await empty_all_tables()
    if db == "sqlite":
        from tortoise import connections

        await connections.get("default").execute_script("DELETE FROM sqlite_sequence")


async def _mutations_scenario(api: Api, *, reference: bool) -> list[bytes]:
    team, conversation = await api.create_team_with_conversation()
    carol = team.carol
    steps: list[tuple[str, dict[str, Any]]] = [
        (ASSIGN, {"id": conversation, "u": carol.id}),
        (UNASSIGN, {"id": conversation}),
        (CLOSE, {"id": conversation}),
        (REOPEN, {"id": conversation}),
        (ASSIGN, {"id": conversation, "u": "bm9ib2R5OjE"}),  # NOT_FOUND: the error of a non-null mutation field
        (
            """mutation($id: ID!) {
                 a: linkConversation(id: $id, target: {newPerson: {name: "Ann"}}) { id linkedPerson { name notes { content } } }
                 b: linkConversation(id: $id, target: {newLead: {title: "Big"}}) { linkedPerson { name } linkedLead { title } }
               }""",
            {"id": conversation},
        ),
        ("mutation { setAvailability(available: false) { id name available role } }", {}),
        ("mutation { markNotificationsRead }", {}),
    ]
    answers = []
    for query, variables in steps:
        answers.append(await _post(api, query, variables, team.bob.token, reference=reference))
    return answers


async def test_mutations_and_their_payloads_answer_as_the_reference(api: Api, db: str) -> None:
    await _reset_ids(db)
    reference = await _mutations_scenario(api, reference=True)
    await _reset_ids(db)
    planned = await _mutations_scenario(api, reference=False)
    assert b"ASSIGNEE" in reference[0] or b"assignConversation" in reference[0]
    assert b"NOT_FOUND" in planned[4]
    assert planned == reference


async def test_two_mutations_of_a_document_run_one_after_the_other(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()
    query = "mutation($id: ID!) { a: closeConversation(id: $id) { status } b: reopenConversation(id: $id) { status } }"
    result = orjson.loads(await _post(api, query, {"id": conversation}, team.bob.token))
    assert result == {"data": {"a": {"status": "CLOSED"}, "b": {"status": "OPEN"}}}


# ---------------------------------------------------------------- the cache and fallbacks


async def _run(schema: Any, query: str, token: str) -> Any:
    viewer = await authenticate(token)
    return await schema.execute(query, context_value=Context(request=None, viewer=viewer))


async def test_the_plan_cache_keeps_at_most_its_size_evicting_the_least_recently_used(api: Api) -> None:
    team, _ = await api.create_team_with_conversation()
    use_settings(Settings(**{**get_settings().__dict__, "plan_cache_size": 2}))
    try:
        schema = build_schema()
    finally:
        use_settings(api_settings := get_settings())  # noqa: F841
    planner = schema.planner
    assert planner is not None and planner.cache_size == 2
    first, second, third = "{ viewer { id } }", "{ viewer { name } }", "{ viewer { email } }"
    for query in (first, second, first, third):
        assert (await _run(schema, query, team.bob.token)).errors is None
    assert len(planner.documents) == 2
    compiled = planner.stats.compiled
    await _run(schema, first, team.bob.token)  # kept: used after `second`
    assert planner.stats.compiled == compiled
    await _run(schema, second, team.bob.token)  # evicted: compiled again
    assert planner.stats.compiled == compiled + 1


async def test_a_document_the_planner_cannot_compile_falls_back_logged_once_and_counted(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    team, _ = await api.create_team_with_conversation()
    schema = build_schema()
    planner = schema.planner
    assert planner is not None
    viewer = await authenticate(team.bob.token)
    document = parse("{ viewer { name } }", no_location=True)  # no source text: nothing to key a plan by
    with caplog.at_level(logging.WARNING, "switchboard.planner"):
        for _ in range(2):
            result = await await_maybe(
                planner.execute(schema._schema, document, None, Context(request=None, viewer=viewer))
            )
            assert result.data == {"viewer": {"name": "Bob Member"}}
    assert planner.stats.fallbacks == {"a document without its source text": 2}
    assert len([r for r in caplog.records if "reference executor" in r.getMessage()]) == 1


# ---------------------------------------------------------------- automatic persisted queries

VIEWER = "{ viewer { name } }"
VIEWER_HASH = hashlib.sha256(VIEWER.encode()).hexdigest()


def _persisted(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def test_an_unknown_persisted_hash_asks_for_the_text_then_the_hash_alone_runs(api: Api) -> None:
    team, _ = await api.create_team_with_conversation()
    headers = {"Authorization": f"Bearer {team.bob.token}"}
    miss = (await api.http.post("/graphql", json={"extensions": _persisted(VIEWER_HASH)}, headers=headers)).json()
    assert miss["data"] is None
    assert [error["extensions"]["code"] for error in miss["errors"]] == ["PERSISTED_QUERY_NOT_FOUND"]
    stored = await api.http.post(
        "/graphql", json={"query": VIEWER, "extensions": _persisted(VIEWER_HASH)}, headers=headers
    )
    assert stored.json() == {"data": {"viewer": {"name": "Bob Member"}}}
    hit = await api.http.post("/graphql", json={"extensions": _persisted(VIEWER_HASH)}, headers=headers)
    assert hit.json() == {"data": {"viewer": {"name": "Bob Member"}}}


async def test_a_persisted_hash_runs_over_get(api: Api) -> None:
    team, _ = await api.create_team_with_conversation()
    headers = {"Authorization": f"Bearer {team.bob.token}", "Accept": "application/json"}
    params = {"extensions": json.dumps(_persisted(VIEWER_HASH))}
    miss = (await api.http.get("/graphql", params=params, headers=headers)).json()
    assert miss["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    await api.http.get("/graphql", params={**params, "query": VIEWER}, headers=headers)
    hit = await api.http.get("/graphql", params=params, headers=headers)
    assert hit.json() == {"data": {"viewer": {"name": "Bob Member"}}}


async def test_a_text_whose_hash_is_not_the_one_sent_is_refused_and_not_kept(api: Api) -> None:
    team, _ = await api.create_team_with_conversation()
    headers = {"Authorization": f"Bearer {team.bob.token}"}
    wrong = "0" * 64
    refused = (
        await api.http.post("/graphql", json={"query": VIEWER, "extensions": _persisted(wrong)}, headers=headers)
    ).json()
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    later = (await api.http.post("/graphql", json={"extensions": _persisted(wrong)}, headers=headers)).json()
    assert later["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


# ---------------------------------------------------------------- one level's awaitables, without a task each


async def test_a_levels_resolvers_waiting_on_one_batch_are_answered_in_order_without_a_task_each() -> None:
    """Given resolvers of one level that wait on one future (a loader's batch), one raising;
    when settled, then each answer (or error) is in its place and no task was started for them."""
    batch: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    seen: ContextVar[str] = ContextVar("seen", default="")

    async def resolver(n: int) -> int:
        seen.set(f"row {n}")  # each runs in its own copy of the context, as a task would
        value = await batch
        await asyncio.sleep(0)
        if n == 2:
            raise ValueError("row 2")
        return value + n + len(seen.get())

    tasks = len(asyncio.all_tasks())
    settling = asyncio.ensure_future(settle([resolver(n) for n in range(4)]))
    await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) == tasks + 1  # the one settling them
    batch.set_result(100)
    results = await settling
    assert results[:2] == [105, 106] and results[3] == 108
    assert isinstance(results[2], ValueError) and seen.get() == ""


async def test_a_cancelled_request_cancels_what_its_resolvers_wait_on_and_their_cleanup_runs_to_its_end() -> None:
    """As with tasks: cleanup that itself awaits (a driver ending its query) is carried on after the
    request has gone, never cut short (a connection left mid-operation would fail the next request)."""
    batch: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    cleaned: list[int] = []

    async def resolver(n: int) -> int:
        try:
            return await batch
        finally:
            await asyncio.sleep(0.01)
            cleaned.append(n)

    settling = asyncio.ensure_future(settle([resolver(n) for n in range(3)]))
    await asyncio.sleep(0)
    settling.cancel()
    with pytest.raises(asyncio.CancelledError):
        await settling
    assert batch.cancelled() and cleaned == []
    await asyncio.sleep(0.1)
    assert sorted(cleaned) == [0, 1, 2]


async def test_a_cancelled_request_stops_resolvers_whose_batch_is_in_and_releases_what_they_hold() -> None:
    """Given resolvers whose batch arrived just before the request was cancelled (resumable, not yet
    resumed), when it is cancelled, then they stop where they stand, as tasks would: none runs on to
    its next load (work for a caller that has gone: a render over its budget kept the loop busy for
    others), and the lock one holds is released for the next request."""
    lock = asyncio.Lock()
    batch: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    ran_on: list[int] = []

    async def resolver(n: int) -> int:
        async with lock if n == 0 else contextlib.nullcontext():
            value = await batch
            ran_on.append(n)
            await asyncio.sleep(0)  # its next load
            return value

    settling = asyncio.ensure_future(settle([resolver(n) for n in range(3)]))
    await asyncio.sleep(0)
    batch.set_result(1)  # every resolver resumable; the request's task is woken
    settling.cancel()  # and cancelled before it resumes them
    with pytest.raises(asyncio.CancelledError):
        await settling
    await asyncio.sleep(0.05)
    assert ran_on == []
    await asyncio.wait_for(lock.acquire(), 1)


async def test_a_resolver_waiting_on_a_lock_another_resolver_of_its_level_holds_gets_it() -> None:
    """As with tasks: each is resumed when what it waits on is done, not when the whole level is."""
    lock = asyncio.Lock()
    batch: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def holder() -> str:
        async with lock:
            return await batch

    async def waiter() -> str:
        async with lock:
            return "after"

    asyncio.get_running_loop().call_later(0.01, batch.set_result, "first")
    assert await asyncio.wait_for(settle([holder(), waiter()]), 5) == ["first", "after"]
