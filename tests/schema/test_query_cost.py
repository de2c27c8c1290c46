"""Query cost and the size limits, checked before anything runs and in time linear in the document
(DESIGN.md §5): fragments spreading fragments, nested pages, variables, subscriptions."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from resolvers.clock import ManualClock
from settings import Settings
from tests.realtime_support import Socket, serving
from tests.support import Api, QueryCounter


class Overran(BaseException):
    """Raised by the alarm: a BaseException, so no `except Exception` on the way turns it into an answer."""


@contextmanager
def cpu_spent(timeout: float = 10.0) -> Iterator[Callable[[], float]]:
    """Yields the CPU seconds the event loop's thread spent since entering. The code these tests guard against never finished
    (and blocked the event loop, so no asyncio timeout could fire): an alarm interrupts it, and again
    every second until the block is left (a server may hold more such requests)."""

    def interrupt(*_: object) -> None:
        raise Overran(f"still running after {timeout} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, timeout, 1.0)
    # this thread's CPU, which runs the event loop: not the process's, which other tests' leftover
    # threads (SMTP sinks, the S3 server, password hashing) share; and no garbage collection, which
    # at the end of a full run walks the whole session's heap for a second, no document's doing
    collecting = gc.isenabled()
    gc.disable()
    started = time.thread_time()
    try:
        yield lambda: time.thread_time() - started
    finally:
        if collecting:
            gc.enable()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def doubling(fragments: int, leaf: str = "viewer { id }", prefix: str = "F") -> str:
    """`{ ...F0 }`, each fragment spreading the next twice: 2^fragments copies of `leaf`."""
    chain = [f"fragment {prefix}{i} on Query {{ ...{prefix}{i + 1} ...{prefix}{i + 1} }}" for i in range(fragments)]
    return f"{{ ...{prefix}0 }} " + " ".join(chain) + f" fragment {prefix}{fragments} on Query {{ {leaf} }}"


def errors_of(response: httpx.Response) -> list[dict]:
    assert response.status_code in (200, 400), response.text
    body = response.json()
    assert body.get("data") is None, body
    return body["errors"]


# ---- fragments spreading fragments: linear, refused before sign-in is even looked at


async def test_a_doubling_fragment_document_is_refused_quickly_over_post_and_get(api: Api) -> None:
    with cpu_spent() as spent:
        posted = await api.http.post("/graphql", json={"query": doubling(40, prefix="P")})
        got = await api.http.get("/graphql", params={"query": doubling(40, prefix="G")})

    assert spent() < 0.5
    for response in (posted, got):
        (error,) = errors_of(response)
        assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "cost": 2**40, "limit": 50_000}


async def test_a_doubling_fragment_document_within_the_limits_is_answered_quickly(api: Api) -> None:
    with cpu_spent() as spent:
        result = await api.execute(doubling(40, leaf="__typename"))

    assert spent() < 0.5
    assert result == {"data": {"__typename": "Query"}}


@pytest.fixture
async def roomy_api(db: str, clock: ManualClock, test_settings: Settings) -> AsyncIterator[Api]:
    """A token limit high enough for a 200-fragment document to reach validation."""
    from app import create_app

    async with Api(
        create_app(dataclasses.replace(test_settings, max_query_tokens=10_000), clock=clock, manage_database=False)
    ) as client:
        yield client
    create_app(test_settings, clock=clock, manage_database=False)  # back to the session's settings


async def test_a_200_fragment_document_is_refused_quickly(roomy_api: Api) -> None:
    with cpu_spent() as spent:
        response = await roomy_api.http.post("/graphql", json={"query": doubling(200)})

    assert spent() < 0.5
    assert [error["extensions"]["code"] for error in errors_of(response)] in (
        ["QUERY_TOO_COMPLEX"],
        ["VALIDATION_FAILED"],
    )


async def test_healthz_answers_while_doubling_documents_arrive(api: Api, test_settings: Settings) -> None:
    async def timed(request: Callable[[], object]) -> tuple[httpx.Response, float]:
        started = time.perf_counter()
        response = await request()  # type: ignore[misc]
        return response, time.perf_counter() - started

    with cpu_spent():
        async with serving(test_settings) as server, httpx.AsyncClient(base_url=server.http_url) as client:
            *bombs, (health, waited) = await asyncio.gather(
                *(
                    timed(lambda n=n: client.post("/graphql", json={"query": doubling(40, prefix=f"H{n}_")}))
                    for n in range(3)
                ),
                timed(lambda: client.get("/healthz")),
            )

    assert health.status_code == 200 and waited < 3.0  # generous on a busy machine: the unmemoised check took minutes
    assert all(errors_of(response)[0]["extensions"]["code"] == "QUERY_TOO_COMPLEX" for response, _ in bombs)


# ---- the cost of nested pages


NESTED_PAGES = """query($id: ID!, $n: Int) { conversation(id: $id) {
  messages(first: $n) { edges { node { conversation {
    messages(first: $n) { edges { node { conversation {
      messages(first: $n) { edges { node { id } } } } } } } } } } } } }"""
# 40 × 40 × 40 messages (an edge and a node each), the pages and conversations between them.
NESTED_PAGES_COST_AT_40 = 1 + (1 + 40 * (3 + (1 + 40 * (3 + (1 + 40 * 2)))))


async def test_nested_message_pages_over_the_cost_limit_are_refused_before_any_sql(api: Api) -> None:
    team, conversation_id = await api.create_team_with_conversation()
    for n in range(3):
        await team.app.receive("cust", f"more {n}")
    token = team.admin.token
    with QueryCounter() as signing_in:
        await api.data("{ __typename }", token=token)

    with QueryCounter() as refused:
        result = await api.execute(NESTED_PAGES, {"id": conversation_id, "n": 40}, token=token)

    (error,) = result["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "cost": NESTED_PAGES_COST_AT_40, "limit": 50_000}
    assert NESTED_PAGES_COST_AT_40 == 134_562 and result.get("data") is None
    assert refused.count == signing_in.count, refused.statements  # who is asking; nothing of the query


async def test_the_cost_follows_the_variables_of_each_request_of_the_same_document(api: Api) -> None:
    team, conversation_id = await api.create_team_with_conversation()
    token = team.admin.token

    for n, expected in ((5, None), (40, "QUERY_TOO_COMPLEX"), (5, None), (40, "QUERY_TOO_COMPLEX")):
        result = await api.execute(NESTED_PAGES, {"id": conversation_id, "n": n}, token=token)
        # (validation of the same text is cached; the cost must still be checked with these variables)
        assert [e["extensions"]["code"] for e in result.get("errors") or []] == ([expected] if expected else []), result

    assert (await api.execute(NESTED_PAGES.replace("$n: Int", "$n: Int = 40"), {"id": conversation_id}, token=token))[
        "errors"
    ][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_a_page_without_first_counts_its_hard_maximum(api: Api) -> None:
    admin = await api.create_account()
    # `messages` without first/last: 100 a page, so three levels are 2,000,000 objects
    query = NESTED_PAGES.replace("(first: $n)", "").replace(", $n: Int", "")

    result = await api.execute(query, {"id": "Q29udmVyc2F0aW9uOjE"}, token=admin.token)

    assert result["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert result["errors"][0]["extensions"]["cost"] > 2_000_000


async def test_the_web_apps_pages_pass_the_limits(api: Api) -> None:
    team, conversation_id = await api.create_team_with_conversation()
    inbox = """query Inbox($section: Section!, $after: String) {
      sectionCounts { unassigned assignedToMe assignedToOthers closed }
      conversations(section: $section, first: 50, after: $after) {
        pageInfo { hasNextPage endCursor }
        edges { node { id status lastMessageAt contact { name externalId }
          lastMessage { text direction attachments { contentType } } assignee { id name } app { name provider } } } } }"""
    thread = """query Thread($id: ID!) { conversation(id: $id) {
      id status section lastMessageAt contact { id name externalId avatarUrl } assignee { id name }
      app { id name provider installedBy { id } sharedWith { id } } canReply replyWindowEndsAt
      linkedPerson { id name phone email notes { id content createdAt updatedAt windowStartsAt } }
      linkedLead { id title notes { id content createdAt updatedAt windowStartsAt } }
      linkedDeal { id title value currency notes { id content createdAt updatedAt windowStartsAt } }
      messages(last: 100) { edges { node { id direction text senderName status errorCode createdAt attachments { url contentType } } } } }
      users(availableOnly: true) { id name } }"""

    page = await api.data(inbox, {"section": "UNASSIGNED"}, token=team.bob.token)
    shown = await api.data(thread, {"id": conversation_id}, token=team.bob.token)

    assert [edge["node"]["id"] for edge in page["conversations"]["edges"]] == [conversation_id]
    assert shown["conversation"]["messages"]["edges"][0]["node"]["text"] == "Hello"


# ---- subscriptions are costed too (per event)


HEAVY_EVENTS = (
    "subscription { inboxEvents { "
    + " ".join(
        f"a{i}: conversation {{ messages(first: 100) {{ edges {{ node {{ conversation {{ messages(first: 100) {{ edges {{ node {{ id }} }} }} }} }} }} }} }}"
        for i in range(3)
    )
    + " } }"
)


async def test_an_inbox_events_document_over_the_cost_limit_is_refused_over_websocket(
    api: Api, test_settings: Settings
) -> None:
    admin = await api.create_account()
    async with serving(test_settings) as server, Socket.opened(server, admin.token) as socket:
        refused = await socket.message(await socket.subscribe(HEAVY_EVENTS))

    assert refused["type"] == "error", refused
    (error,) = refused["payload"]
    # three aliases of 2 + 100 × (4 + 100 × 2) objects, under the event itself
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "cost": 1 + 3 * 20_402, "limit": 50_000}


async def test_an_inbox_events_document_under_the_limit_is_served(api: Api, test_settings: Settings) -> None:
    team, _ = await api.create_team_with_conversation()
    light = HEAVY_EVENTS.replace("first: 100", "first: 2")
    async with serving(test_settings) as server, Socket.opened(server, team.admin.token) as socket:
        op = await socket.subscribe(light)
        await team.app.receive("cust", "Again")
        event = await socket.event(op)

    first_page = event["a0"]["messages"]["edges"]
    assert len(first_page) == 2 and first_page[0]["node"]["conversation"]["messages"]["edges"][0]["node"]["id"]
