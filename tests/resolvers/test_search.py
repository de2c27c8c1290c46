"""R-SEARCH: full-text and phone-fragment search over the conversations a viewer can see."""

from typing import Any

import pytest

from resolvers.clock import ManualClock
from tests.support import DELETE, Api, Person, QueryCounter, Team

SEARCH = """query($q: String!, $first: Int, $after: String) {
  searchConversations(query: $q, first: $first, after: $after) {
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { highlight message { text } conversation { id contact { externalId name } } } } } }"""


async def _search(api: Api, person: Person, query: str, **variables: Any) -> dict[str, Any]:
    page: dict[str, Any] = (await api.data(SEARCH, {"q": query, **variables}, token=person.token))[
        "searchConversations"
    ]
    return page


async def _found(api: Api, person: Person, query: str) -> list[str]:
    """The contacts of the hits, best first."""
    page = await _search(api, person, query, first=100)
    return [edge["node"]["conversation"]["contact"]["externalId"] for edge in page["edges"]]


async def test_r_search_finds_whole_words_in_messages_regardless_of_case_and_accents(
    api: Api, clock: ManualClock
) -> None:
    # Given three conversations, one speaking of a café crème
    team = await api.create_team()
    await team.app.receive("alice", "I would like a Café Crème please")
    await team.app.receive("bob", "Where is my parcel?")
    await team.app.receive("carl", "Cafeteria menu")

    # When searching without accents and in capitals
    # Then only the conversations holding each whole word are found
    assert await _found(api, team.bob, "CAFE creme") == ["alice"]
    assert await _found(api, team.bob, "parcel") == ["bob"]
    assert await _found(api, team.bob, "café") == ["alice"]
    assert await _found(api, team.bob, "cafeteria") == ["carl"]
    # And a word's start is not a word, nor is a word missing from the message
    assert await _found(api, team.bob, "caf") == []
    assert await _found(api, team.bob, "cafe parcel") == []


async def test_r_search_hit_shows_the_newest_matching_message_highlighted_and_escaped(
    api: Api, clock: ManualClock
) -> None:
    # Given a contact whose messages hold HTML and the word searched for, twice
    team = await api.create_team()
    await team.app.receive("alice", "first invoice")
    clock.advance(minutes=1)
    await team.app.receive("alice", "<b>Invoice</b> & <script>x</script> again")
    clock.advance(minutes=1)
    await team.app.receive("alice", "unrelated")

    page = await _search(api, team.bob, "invoice")

    # Then one hit for the conversation, with its newest matching message, HTML escaped, the match marked
    [edge] = page["edges"]
    assert edge["node"]["message"] == {"text": "<b>Invoice</b> & <script>x</script> again"}
    assert edge["node"]["highlight"] == (
        "&lt;b&gt;<mark>Invoice</mark>&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt; again"
    )


async def test_r_search_contact_name_and_phone_fragment_match_first(api: Api, clock: ManualClock) -> None:
    # Given a contact named Zoë Martin at +44 20 7946 0958, and another who mentions "martin" in a message
    team = await api.create_team()
    await team.app.receive("+44 20 7946 0958", "hi", name="Zoë Martin")
    clock.advance(minutes=1)
    await team.app.receive("other", "ask Martin about it", name="Someone")

    # When searching the name, then a phone fragment
    named = await _search(api, team.bob, "martin")
    phone = await _search(api, team.bob, "7946-09")

    # Then the contact whose name matches ranks first (though its message is older), highlighted
    assert [e["node"]["conversation"]["contact"]["externalId"] for e in named["edges"]] == [
        "+44 20 7946 0958",
        "other",
    ]
    assert named["edges"][0]["node"]["message"] is None
    assert named["edges"][0]["node"]["highlight"] == "Zoë <mark>Martin</mark>"
    assert named["edges"][1]["node"]["highlight"] == "ask <mark>Martin</mark> about it"
    # And the phone fragment finds the number, whatever separators sit between the digits
    assert [e["node"]["conversation"]["contact"]["externalId"] for e in phone["edges"]] == ["+44 20 7946 0958"]
    assert phone["edges"][0]["node"]["highlight"] == "+44 20 <mark>7946 09</mark>58"


async def test_r_search_keyset_pages_cover_every_hit_once_best_first(api: Api, clock: ManualClock) -> None:
    # Given 7 conversations whose messages match, and 2 whose contact's name matches
    team = await api.create_team()
    for n in range(7):
        clock.advance(minutes=1)
        await team.app.receive(f"msg-{n}", f"the refund number {n}")
    for n in range(2):
        clock.advance(minutes=1)
        await team.app.receive(f"name-{n}", "hello", name=f"Refund Team {n}")

    # When paging by 3
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = await _search(api, team.bob, "refund", first=3, after=after)
        seen += [edge["node"]["conversation"]["contact"]["externalId"] for edge in page["edges"]]
        pages += 1
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    # Then names first, then messages, newest first, each once
    assert seen == ["name-1", "name-0"] + [f"msg-{n}" for n in reversed(range(7))]
    assert pages == 3


async def test_r_search_only_conversations_the_viewer_can_see(api: Api, clock: ManualClock) -> None:
    # Given an app shared with Bob only, and another account with the same words
    team = await api.create_team()
    second = await api.install_api_app(team.admin, name="Second", share_with=[team.bob])
    await team.app.receive("shared", "secret plans")
    await second.receive("bobs-only", "secret plans")
    other = await api.create_account("Other", "Olga Admin")
    other_app = await api.install_api_app(other)
    await other_app.receive("foreign", "secret plans")

    # Then each viewer finds only what the sections show them (R-SECTION), the other tenant nothing of ours
    assert sorted(await _found(api, team.bob, "secret")) == ["bobs-only", "shared"]
    assert await _found(api, team.carol, "secret") == ["shared"]
    assert await _found(api, other, "secret") == ["foreign"]


async def test_r_search_deleted_history_is_never_found(api: Api, clock: ManualClock) -> None:
    # Given a conversation deleted, that the contact then brings back with a new message
    team: Team = await api.create_team()
    await team.app.receive("cust", "my old password hint", name="Deleted Dora")
    await team.app.receive("gone", "old password too", name="Gone Gary")
    await api.data(DELETE, {"id": await team.app.conversation_id("cust")}, token=team.admin.token)
    await api.data(DELETE, {"id": await team.app.conversation_id("gone")}, token=team.admin.token)
    clock.advance(hours=1)
    await team.app.receive("cust", "a new question", name="Deleted Dora")

    # Then neither the deleted conversation nor the resurrected one's old messages are found
    assert await _found(api, team.admin, "password") == []
    assert await _found(api, team.admin, "gary") == []
    # And the resurrected conversation is found by its new message and its contact
    assert await _found(api, team.admin, "question") == ["cust"]
    assert await _found(api, team.admin, "dora") == ["cust"]


@pytest.mark.parametrize("query", ["", "   ", "!!! ... ---", "x" * 10_000, " ".join(f"w{n}" for n in range(9))])
async def test_r_search_bad_queries_are_validation_failed(api: Api, query: str) -> None:
    team, _ = await api.create_team_with_conversation()

    assert await api.error_code(SEARCH, {"q": query}, token=team.bob.token) == "VALIDATION_FAILED"


@pytest.mark.parametrize(
    "query", ['"hello', "hello*", "hello NEAR world", "-hello", "hello OR", "(hello", "hel:*", "a & !b | c", "'"]
)
async def test_r_search_fts_syntax_is_searched_as_plain_words(api: Api, query: str) -> None:
    # Given a message with these words
    team = await api.create_team()
    await team.app.receive("cust", "hello world a b c near")

    # When the query holds the syntax of either database's full-text engine
    result = await api.execute(SEARCH, {"q": query}, token=team.bob.token)

    # Then it is a search of its words (or refused as holding none), never an error of the engine
    if query == "'":
        assert result["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    else:
        assert "errors" not in result, result
        hits = result["data"]["searchConversations"]["edges"]
        assert [hit["node"]["conversation"]["contact"]["externalId"] for hit in hits] == (
            [] if query in ("hello OR", "hel:*") else ["cust"]
        )


async def test_r_search_malformed_cursor_is_validation_failed(api: Api) -> None:
    team, _ = await api.create_team_with_conversation()

    for cursor in ("junk", "WzksMSwxXQ", "WzEsLTEsMV0"):  # junk, [9,1,1], [1,-1,1]
        code = await api.error_code(SEARCH, {"q": "hello", "after": cursor}, token=team.bob.token)
        assert code == "VALIDATION_FAILED"


async def test_r_search_a_page_of_50_costs_as_many_queries_as_a_page_of_15(api: Api, clock: ManualClock) -> None:
    # Given 60 conversations matching, 10 by their contact's name
    team = await api.create_team()
    for n in range(60):
        clock.advance(seconds=1)
        await team.app.receive(f"c-{n}", f"order {n}", name=f"Order Desk {n}" if n < 10 else f"Customer {n}")

    costs = {}
    for size in (15, 50):
        query = """query($first: Int) { searchConversations(query: "order", first: $first) { edges { node {
          highlight message { text senderName } conversation { id app { name } contact { name } lastMessage { text } } } } } }"""
        with QueryCounter() as counter:
            page = (await api.data(query, {"first": size}, token=team.bob.token))["searchConversations"]
        assert len(page["edges"]) == size
        costs[size] = counter.statements

    # Then two pages straddling both tiers cost the same: nothing per row
    assert len(costs[50]) == len(costs[15]), "\n".join(costs[50])
    # who is asking, their apps, the two tiers, the conversations, the messages, the apps, the last messages
    assert len(costs[50]) <= 8, "\n".join(costs[50])


async def test_r_search_highlight_of_a_long_message_is_a_snippet_around_the_match(api: Api) -> None:
    # Given a long message whose match sits in the middle
    team = await api.create_team()
    text = "lorem " * 100 + "(needle) & found " + "ipsum " * 100
    await team.app.receive("cust", text)

    [edge] = (await _search(api, team.bob, "needle"))["edges"]

    # Then the highlight is a cut of the text around the match, marked, escaped, with ellipses
    highlight = edge["node"]["highlight"]
    assert highlight.startswith("…lorem") and highlight.endswith("…")
    assert "(<mark>needle</mark>) &amp; found ipsum" in highlight
    assert len(highlight) < len(text) // 2
    # And the message itself is whole
    assert edge["node"]["message"]["text"] == text
