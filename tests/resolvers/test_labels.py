"""R-LABEL: account labels (admins make and remove them), set on conversations by anyone with
access, and the section filter that keeps the section's keyset order."""

from __future__ import annotations

import re
from typing import Any

from tortoise.transactions import in_transaction

from models import InboxEvent, InboxEventType, User
from models.sql import fetch
from resolvers.clock import ManualClock
from resolvers.ids import pk_of
from resolvers.sections import Section, section_statement
from resolvers.viewer import Viewer
from tests.support import DELETE, Api, Person, Team

CREATE = "mutation($n: String!, $c: String!) { createLabel(name: $n, color: $c) { id name color } }"
DELETE_LABEL = "mutation($id: ID!) { deleteLabel(id: $id) }"
SET = """mutation($id: ID!, $l: [ID!]!) { setConversationLabels(id: $id, labelIds: $l) {
  id section lastMessageAt labels { name color } } }"""
LABELS = "{ labels { id name color } }"
CONVERSATION = "query($id: ID!) { conversation(id: $id) { section lastMessageAt labels { name } } }"
FILTERED = """query($s: Section!, $l: ID, $first: Int, $after: String) {
  conversations(section: $s, labelId: $l, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { contact { externalId } labels { name } } } } }"""


async def create_label(api: Api, admin: Person, name: str, color: str = "#aa0000") -> str:
    return str((await api.data(CREATE, {"n": name, "c": color}, token=admin.token))["createLabel"]["id"])


async def set_labels(api: Api, person: Person, conversation: str, *labels: str) -> dict[str, Any]:
    return (await api.data(SET, {"id": conversation, "l": list(labels)}, token=person.token))["setConversationLabels"]


async def labeled_events() -> int:
    return await InboxEvent.filter(type=InboxEventType.CONVERSATION_LABELED).count()


async def filtered(api: Api, person: Person, section: str, label: str | None, **page: Any) -> dict[str, Any]:
    return (await api.data(FILTERED, {"s": section, "l": label, **page}, token=person.token))["conversations"]


# ---- the account's labels


async def test_r_label_an_admin_creates_labels_and_everyone_in_the_account_lists_them(api: Api) -> None:
    team = await api.create_team()

    await create_label(api, team.admin, "  VIP  customer ", "#1f8a4c")
    await create_label(api, team.admin, "Billing", "#0000FF")

    listed = (await api.data(LABELS, token=team.bob.token))["labels"]
    assert [(label["name"], label["color"]) for label in listed] == [
        ("Billing", "#0000FF"),
        ("VIP customer", "#1F8A4C"),
    ]


async def test_r_label_members_may_not_create_or_delete_labels(api: Api) -> None:
    team = await api.create_team()
    vip = await create_label(api, team.admin, "VIP")

    assert await api.error_code(CREATE, {"n": "Mine", "c": "#000000"}, token=team.bob.token) == "FORBIDDEN"
    assert await api.error_code(DELETE_LABEL, {"id": vip}, token=team.bob.token) == "FORBIDDEN"
    assert [label["name"] for label in (await api.data(LABELS, token=team.admin.token))["labels"]] == ["VIP"]


async def test_r_label_a_blank_long_or_taken_name_or_a_bad_color_is_refused(api: Api) -> None:
    team = await api.create_team()
    await create_label(api, team.admin, "VIP")

    for name, color in (("", "#000000"), ("   ", "#000000"), ("x" * 51, "#000000"), ("vip", "#000000")):
        assert await api.error_code(CREATE, {"n": name, "c": color}, token=team.admin.token) == "VALIDATION_FAILED"
    for color in ("red", "#12345", "#1234567", "123456", "#GGGGGG"):
        assert await api.error_code(CREATE, {"n": "Other", "c": color}, token=team.admin.token) == "VALIDATION_FAILED"
    assert [label["name"] for label in (await api.data(LABELS, token=team.admin.token))["labels"]] == ["VIP"]


# ---- on conversations


async def test_r_label_setting_labels_replaces_the_whole_list_and_does_not_move_the_conversation(
    api: Api, clock: ManualClock
) -> None:
    team, conversation = await api.create_team_with_conversation()
    vip = await create_label(api, team.admin, "VIP")
    urgent = await create_label(api, team.admin, "Urgent")
    before = (await api.data(CONVERSATION, {"id": conversation}, token=team.bob.token))["conversation"]
    clock.advance(minutes=5)

    # when Bob (a member) sets two labels, then only one, then the same one again
    both = await set_labels(api, team.bob, conversation, vip, urgent, vip)
    events_after_two = await labeled_events()
    one = await set_labels(api, team.bob, conversation, urgent)
    await set_labels(api, team.carol, conversation, urgent)

    # then each change shows, by name; the conversation has not moved
    assert [label["name"] for label in both["labels"]] == ["Urgent", "VIP"]
    assert [label["name"] for label in one["labels"]] == ["Urgent"]
    assert (one["section"], one["lastMessageAt"]) == (before["section"], before["lastMessageAt"])
    # and each change wrote one event, the repeat none
    assert events_after_two == 1
    assert await labeled_events() == 2
    # when cleared
    cleared = await set_labels(api, team.bob, conversation)
    assert cleared["labels"] == []


async def test_r_label_deleting_a_label_removes_it_from_its_conversations(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()
    vip = await create_label(api, team.admin, "VIP")
    urgent = await create_label(api, team.admin, "Urgent")
    await set_labels(api, team.bob, conversation, vip, urgent)
    events = await labeled_events()

    deleted = (await api.data(DELETE_LABEL, {"id": vip}, token=team.admin.token))["deleteLabel"]

    assert deleted == vip
    labels = (await api.data(CONVERSATION, {"id": conversation}, token=team.bob.token))["conversation"]["labels"]
    assert labels == [{"name": "Urgent"}]
    assert await labeled_events() == events + 1  # subscribers learn the conversation's labels changed
    assert await api.error_code(FILTERED, {"s": "UNASSIGNED", "l": vip}, token=team.bob.token) == "NOT_FOUND"
    assert await api.error_code(SET, {"id": conversation, "l": [vip]}, token=team.bob.token) == "NOT_FOUND"


async def test_r_label_a_deleted_conversation_comes_back_without_its_labels(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()
    vip = await create_label(api, team.admin, "VIP")
    await set_labels(api, team.bob, conversation, vip)

    await api.data(DELETE, {"id": conversation}, token=team.admin.token)
    await team.app.receive("cust", "I am back")

    back = await team.app.conversation_id("cust")
    assert (await api.data(CONVERSATION, {"id": back}, token=team.bob.token))["conversation"]["labels"] == []
    assert (await filtered(api, team.bob, "UNASSIGNED", vip))["edges"] == []


async def test_r_label_without_access_to_the_conversation_is_not_found(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()
    vip = await create_label(api, team.admin, "VIP")
    outsider = await api.create_user(team.admin, "Olga Outsider")  # no app shared with her

    assert await api.error_code(SET, {"id": conversation, "l": [vip]}, token=outsider.token) == "NOT_FOUND"
    assert (await api.data(CONVERSATION, {"id": conversation}, token=team.bob.token))["conversation"]["labels"] == []


async def test_r_label_another_accounts_labels_do_not_exist(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()
    globex = await api.create_account("Globex", "Gil Globex")
    theirs = await create_label(api, globex, "Theirs")
    await create_label(api, team.admin, "Ours")

    assert await api.error_code(SET, {"id": conversation, "l": [theirs]}, token=team.bob.token) == "NOT_FOUND"
    assert await api.error_code(FILTERED, {"s": "UNASSIGNED", "l": theirs}, token=team.bob.token) == "NOT_FOUND"
    assert await api.error_code(DELETE_LABEL, {"id": theirs}, token=team.admin.token) == "NOT_FOUND"
    assert (await api.data("query($id: ID!) { node(id: $id) { id } }", {"id": theirs}, token=team.bob.token))[
        "node"
    ] is None
    assert [label["name"] for label in (await api.data(LABELS, token=team.bob.token))["labels"]] == ["Ours"]
    assert [label["name"] for label in (await api.data(LABELS, token=globex.token))["labels"]] == ["Theirs"]


# ---- the section filter


async def _labeled_inbox(api: Api, clock: ManualClock) -> tuple[Team, str, list[str]]:
    """Nine unassigned conversations cust-0 … cust-8 (cust-8 newest); VIP on every even one."""
    team = await api.create_team()
    vip = await create_label(api, team.admin, "VIP")
    other = await create_label(api, team.admin, "Other")
    labeled = []
    for n in range(9):
        clock.advance(minutes=1)
        await team.app.receive(f"cust-{n}", f"message {n}")
        conversation = await team.app.conversation_id(f"cust-{n}")
        await set_labels(api, team.bob, conversation, *([vip] if n % 2 == 0 else [other]))
        if n % 2 == 0:
            labeled.append(f"cust-{n}")
    return team, vip, list(reversed(labeled))


async def test_r_label_section_filter_pages_the_labeled_conversations_in_the_sections_order(
    api: Api, clock: ManualClock
) -> None:
    team, vip, newest_first = await _labeled_inbox(api, clock)
    # a message to cust-0 makes it the newest
    clock.advance(minutes=1)
    await team.app.receive("cust-0", "again")
    newest_first = ["cust-0", *[c for c in newest_first if c != "cust-0"]]

    seen: list[str] = []
    after = None
    while True:
        page = await filtered(api, team.bob, "UNASSIGNED", vip, first=2, after=after)
        assert page["totalCount"] == 5
        seen += [edge["node"]["contact"]["externalId"] for edge in page["edges"]]
        assert all(edge["node"]["labels"] == [{"name": "VIP"}] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert seen == newest_first
    assert (await filtered(api, team.bob, "CLOSED", vip))["edges"] == []
    assert (await filtered(api, team.bob, "UNASSIGNED", None))["totalCount"] == 9


async def test_r_label_section_filter_is_read_in_order_from_the_sections_index(
    api: Api, clock: ManualClock, db: str
) -> None:
    """The plan: the section's partial index, in order (no sort step), the label probed by index."""
    team, vip, _ = await _labeled_inbox(api, clock)
    viewer = Viewer(await User.get(id=pk_of("User", team.bob.id)))
    cursor = (await filtered(api, team.bob, "UNASSIGNED", vip, first=1))["pageInfo"]["endCursor"]

    statement, values = section_statement(
        viewer, Section.UNASSIGNED, sorted(await viewer.app_ids()), after=cursor, label=pk_of("Label", vip), limit=26
    )
    explain = "EXPLAIN " if db == "postgres" else "EXPLAIN QUERY PLAN "
    async with in_transaction() as connection:
        if db == "postgres":  # a few rows: without this PostgreSQL rightly prefers reading the table
            await connection.execute_script("SET LOCAL enable_seqscan = off")
        plan = " ".join(str(tuple(row.values())) for row in await fetch(explain + statement, *values))

    assert "ix_conversation_unassigned" in plan, plan
    assert re.search(r"conversation_label", plan), plan
    assert not re.search(r"\bSort\b|TEMP B-TREE", plan), plan
