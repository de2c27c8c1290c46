"""R-SECTION: what each viewer sees in each section, in which order, page by page."""

import re

from tortoise.transactions import in_transaction

from models import User
from models.sql import fetch
from resolvers.clock import ManualClock
from resolvers.ids import pk_of
from resolvers.sections import Section, section_statement
from resolvers.viewer import Viewer
from tests.support import ASSIGN, CLOSE, DELETE, Api, Team

COUNTS = "query($app: ID) { sectionCounts(appId: $app) { unassigned assignedToMe assignedToOthers closed } }"
SECTIONS = ("UNASSIGNED", "ASSIGNED_TO_ME", "ASSIGNED_TO_OTHERS", "CLOSED")


async def _inbox(api: Api, clock: ManualClock) -> tuple[Team, str]:
    """Given: `open` unassigned, `bobs` and `carols` assigned, `closed` (Bob's) and `other-app` on a
    second app shared with Bob only; each newer than the one before. Returns the team and app 2's id."""
    team = await api.create_team()
    second = await api.install_api_app(team.admin, name="Second", share_with=[team.bob])
    for contact in ("open", "bobs", "carols", "closed"):
        clock.advance(minutes=1)
        await team.app.receive(contact)
    clock.advance(minutes=1)
    await second.receive("other-app")
    app = team.app
    await api.data(ASSIGN, {"id": await app.conversation_id("bobs"), "u": team.bob.id}, token=team.admin.token)
    await api.data(ASSIGN, {"id": await app.conversation_id("carols"), "u": team.carol.id}, token=team.admin.token)
    await api.data(ASSIGN, {"id": await app.conversation_id("closed"), "u": team.bob.id}, token=team.admin.token)
    await api.data(CLOSE, {"id": await app.conversation_id("closed")}, token=team.carol.token)
    return team, second.id


async def test_r_section_membership_differs_for_three_viewers(api: Api, clock: ManualClock) -> None:
    team, _ = await _inbox(api, clock)

    seen = {
        name: {section: await api.contacts_in(person, section) for section in SECTIONS}
        for name, person in (("ana", team.admin), ("bob", team.bob), ("carol", team.carol))
    }

    assert seen["ana"] == {
        "UNASSIGNED": ["other-app", "open"],
        "ASSIGNED_TO_ME": [],
        "ASSIGNED_TO_OTHERS": ["carols", "bobs"],
        "CLOSED": ["closed"],
    }
    assert seen["bob"] == {
        "UNASSIGNED": ["other-app", "open"],
        "ASSIGNED_TO_ME": ["bobs"],
        "ASSIGNED_TO_OTHERS": ["carols"],
        "CLOSED": ["closed"],
    }
    assert seen["carol"] == {
        "UNASSIGNED": ["open"],
        "ASSIGNED_TO_ME": ["carols"],
        "ASSIGNED_TO_OTHERS": ["bobs"],
        "CLOSED": ["closed"],
    }


async def test_r_section_each_conversation_reports_the_section_it_is_listed_in(api: Api, clock: ManualClock) -> None:
    team, _ = await _inbox(api, clock)

    for person in (team.admin, team.bob, team.carol):
        for section in SECTIONS:
            page = await api.section(person, section)
            assert {edge["node"]["section"] for edge in page["edges"]} <= {section}
            assert page["totalCount"] == len(page["edges"])


async def test_r_section_counts_agree_with_the_sections(api: Api, clock: ManualClock) -> None:
    team, second = await _inbox(api, clock)

    bob = (await api.data(COUNTS, token=team.bob.token))["sectionCounts"]
    carol = (await api.data(COUNTS, token=team.carol.token))["sectionCounts"]
    bob_second_app = (await api.data(COUNTS, {"app": second}, token=team.bob.token))["sectionCounts"]

    assert bob == {"unassigned": 2, "assignedToMe": 1, "assignedToOthers": 1, "closed": 1}
    assert carol == {"unassigned": 1, "assignedToMe": 1, "assignedToOthers": 1, "closed": 1}
    assert bob_second_app == {"unassigned": 1, "assignedToMe": 0, "assignedToOthers": 0, "closed": 0}


async def test_r_section_app_filter_shows_only_that_apps_conversations(api: Api, clock: ManualClock) -> None:
    team, second = await _inbox(api, clock)

    assert await api.contacts_in(team.bob, "UNASSIGNED", app_id=second) == ["other-app"]
    assert await api.contacts_in(team.bob, "UNASSIGNED", app_id=team.app.id) == ["open"]
    assert (
        await api.error_code(
            "query($app: ID) { conversations(section: UNASSIGNED, appId: $app) { totalCount } }",
            {"app": second},
            token=team.carol.token,
        )
        == "NOT_FOUND"
    )
    assert await api.error_code(COUNTS, {"app": second}, token=team.carol.token) == "NOT_FOUND"


async def test_r_section_newest_message_first_and_ties_by_id(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    for contact in ("a", "b", "c"):
        await team.app.receive(contact)  # the same instant: newest id first
    clock.advance(seconds=1)
    await team.app.receive("d")
    clock.advance(seconds=1)
    await team.app.receive("b", "again")

    assert await api.contacts_in(team.bob, "UNASSIGNED") == ["b", "d", "c", "a"]


async def test_r_section_keyset_pages_cover_the_section_once_in_order(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    for index in range(7):
        if index % 2:
            clock.advance(
                seconds=0.5
            )  # pairs share a time (page boundaries fall inside ties); whole and fractional seconds mix
        await team.app.receive(f"c{index}")
    everything = await api.contacts_in(team.bob, "UNASSIGNED")
    assert everything == [f"c{index}" for index in reversed(range(7))]

    pages, after = [], None
    while True:
        page = await api.section(team.bob, "UNASSIGNED", first=3, after=after)
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert [len(page["edges"]) for page in pages] == [3, 3, 1]
    assert [edge["node"]["contact"]["externalId"] for page in pages for edge in page["edges"]] == everything
    assert [page["pageInfo"]["hasPreviousPage"] for page in pages] == [False, True, True]
    assert {page["totalCount"] for page in pages} == {7}
    assert all(page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"] for page in pages)


async def test_r_section_total_count_is_given_through_a_fragment_too(api: Api) -> None:
    team = await api.create_team()
    await team.app.receive("a")
    await team.app.receive("b")

    data = await api.data(
        "query { conversations(section: UNASSIGNED, first: 1) { ...Counted } } fragment Counted on ConversationConnection { totalCount }",
        token=team.bob.token,
    )

    assert data["conversations"]["totalCount"] == 2


async def test_r_section_deleted_conversation_is_in_no_section(api: Api) -> None:
    team = await api.create_team()
    await team.app.receive("gone")
    await team.app.receive("kept")

    await api.data(DELETE, {"id": await team.app.conversation_id("gone")}, token=team.admin.token)

    for section in SECTIONS:
        assert "gone" not in await api.contacts_in(team.bob, section)
    counts = (await api.data(COUNTS, token=team.bob.token))["sectionCounts"]
    assert counts == {"unassigned": 1, "assignedToMe": 0, "assignedToOthers": 0, "closed": 0}


async def test_r_section_user_without_shared_apps_sees_nothing(api: Api) -> None:
    team = await api.create_team()
    outsider = await api.create_user(team.admin, "Olga Outsider")
    await team.app.receive("a")

    for section in SECTIONS:
        page = await api.section(outsider, section)
        assert page["edges"] == [] and page["totalCount"] == 0
    counts = (await api.data(COUNTS, token=outsider.token))["sectionCounts"]
    assert counts == {"unassigned": 0, "assignedToMe": 0, "assignedToOthers": 0, "closed": 0}


async def test_first_out_of_range_unknown_section_and_bad_cursor_are_validation_failures(api: Api) -> None:
    team = await api.create_team()
    await team.app.receive("a")
    query = "query($s: Section!, $first: Int, $after: String) { conversations(section: $s, first: $first, after: $after) { totalCount } }"

    for first in (0, -1, 101):
        assert (
            await api.error_code(query, {"s": "UNASSIGNED", "first": first}, token=team.bob.token)
            == "VALIDATION_FAILED"
        )
    assert await api.error_code(query, {"s": "SOMEWHERE"}, token=team.bob.token) == "VALIDATION_FAILED"
    for cursor in ("not-a-cursor", "WyJ4Il0", "WyJub3QgYSB0aW1lIiwxXQ", "WyIyMDI2LTAxLTA1VDA5OjAwOjAwIiwxXQ"):
        assert (
            await api.error_code(query, {"s": "UNASSIGNED", "after": cursor}, token=team.bob.token)
            == "VALIDATION_FAILED"
        )
    assert len((await api.section(team.bob, "UNASSIGNED", first=100))["edges"]) == 1


# ASSIGNED_TO_ME may also be read from every assigned conversation of the account, in order, when
# the planner judges the viewer to hold many of them.
SECTION_INDEXES = {
    "UNASSIGNED": {"ix_conversation_unassigned"},
    "ASSIGNED_TO_ME": {"ix_conversation_assigned", "ix_conversation_assigned_any"},
    "ASSIGNED_TO_OTHERS": {"ix_conversation_assigned_any"},
    "CLOSED": {"ix_conversation_closed"},
}


async def test_r_section_each_page_is_read_in_order_from_its_sections_partial_index(
    api: Api, clock: ManualClock, db: str
) -> None:
    """The plan, not the speed: each section's statement is served by a partial index of that
    section from the cursor on, already in order (no sort step), so a deep page costs what the first does."""
    team, _ = await _inbox(api, clock)
    viewer = Viewer(await User.get(id=pk_of("User", team.bob.id)))
    cursor = (await api.section(team.bob, "UNASSIGNED", first=1))["pageInfo"]["endCursor"]

    for section, indexes in SECTION_INDEXES.items():
        statement, values = section_statement(
            viewer, Section(section), sorted(await viewer.app_ids()), after=cursor, limit=26
        )
        async with in_transaction() as connection:
            if db == "postgres":  # a few rows: without this PostgreSQL rightly prefers reading the table
                await connection.execute_script("SET LOCAL enable_seqscan = off")
            explain = "EXPLAIN " if db == "postgres" else "EXPLAIN QUERY PLAN "
            plan = " ".join(str(tuple(row.values())) for row in await fetch(explain + statement, *values))

        used = set(re.findall(r"\bix_conversation_\w+", plan))
        assert used and used <= indexes, (section, plan)
        assert not re.search(r"\bSort\b|TEMP B-TREE", plan), (section, plan)


async def test_r_section_page_holds_exactly_the_rows_its_count_counts(api: Api, clock: ManualClock) -> None:
    """The page is read by its own statement and the counts through the ORM: the same rule both ways."""
    team, _ = await _inbox(api, clock)
    query = "query($s: Section!) { conversations(section: $s, first: 100) { totalCount edges { node { id } } } }"
    for viewer in (team.admin, team.bob, team.carol):
        counts = (await api.data(COUNTS, token=viewer.token))["sectionCounts"]
        for section, count in zip(SECTIONS, counts.values(), strict=True):
            page = (await api.data(query, {"s": section}, token=viewer.token))["conversations"]
            assert len(page["edges"]) == page["totalCount"] == count, (viewer, section)
