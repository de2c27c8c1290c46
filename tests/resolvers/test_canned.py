"""Canned replies: personal and shared (shared managed by admins), shortcut search, placeholders
filled from the conversation, plain text sent through sendMessage like any reply."""

from __future__ import annotations

from typing import Any

from models import CannedReply, Message
from tests.provider_support import CUSTOMER, Inbox, snapshot, whatsapp_conversation
from tests.resolvers.crm_support import link
from tests.support import Api, Person

CREATE = """mutation($s: String!, $t: String!, $shared: Boolean) {
  createCannedReply(shortcut: $s, text: $t, shared: $shared) { id shortcut text owner { name } } }"""
UPDATE = """mutation($id: ID!, $s: String, $t: String) {
  updateCannedReply(id: $id, shortcut: $s, text: $t) { id shortcut text } }"""
DELETE = "mutation($id: ID!) { deleteCannedReply(id: $id) }"
LIST = "query($q: String) { cannedReplies(search: $q) { shortcut owner { name } } }"
RENDER = "mutation($id: ID!, $c: ID!) { renderCannedReply(id: $id, conversationId: $c) }"
SEND = "mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, text: $t) { id text status } }"


async def create(api: Api, person: Person, shortcut: str, text: str, *, shared: bool = False) -> dict[str, Any]:
    variables = {"s": shortcut, "t": text, "shared": shared}
    return (await api.data(CREATE, variables, token=person.token))["createCannedReply"]


async def listed(api: Api, person: Person, search: str | None = None) -> list[tuple[str, str | None]]:
    rows = (await api.data(LIST, {"q": search}, token=person.token))["cannedReplies"]
    return [(row["shortcut"], row["owner"]["name"] if row["owner"] else None) for row in rows]


async def render(api: Api, person: Person, canned: str, conversation: str) -> str:
    return str((await api.data(RENDER, {"id": canned, "c": conversation}, token=person.token))["renderCannedReply"])


# ---- personal and shared


async def test_canned_reply_personal_ones_are_the_owners_and_shared_ones_the_teams(api: Api) -> None:
    team = await api.create_team()

    mine = await create(api, team.bob, "/Thanks", "Thanks, {{contact.name}}!")
    await create(api, team.admin, "hours", "We open at 9.", shared=True)

    assert (mine["shortcut"], mine["owner"]) == ("thanks", {"name": "Bob Member"})
    assert await listed(api, team.bob) == [("hours", None), ("thanks", "Bob Member")]
    assert await listed(api, team.carol) == [("hours", None)]
    assert await listed(api, team.admin) == [("hours", None)]
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert (await api.data(node, {"id": mine["id"]}, token=team.carol.token))["node"] is None
    assert (await api.data(node, {"id": mine["id"]}, token=team.bob.token))["node"] == {"id": mine["id"]}


async def test_canned_reply_members_may_not_share_nor_change_shared_ones(api: Api) -> None:
    team = await api.create_team()
    shared = await create(api, team.admin, "hours", "We open at 9.", shared=True)
    bobs = await create(api, team.bob, "thanks", "Thanks!")

    # a member may not share, nor change or delete what is shared
    variables = {"s": "mine", "t": "x", "shared": True}
    assert await api.error_code(CREATE, variables, token=team.bob.token) == "FORBIDDEN"
    assert await api.error_code(UPDATE, {"id": shared["id"], "t": "Closed"}, token=team.bob.token) == "FORBIDDEN"
    assert await api.error_code(DELETE, {"id": shared["id"]}, token=team.bob.token) == "FORBIDDEN"
    # nobody but its owner sees a personal one, admins included
    for person in (team.carol, team.admin):
        assert await api.error_code(UPDATE, {"id": bobs["id"], "t": "Mine"}, token=person.token) == "NOT_FOUND"
        assert await api.error_code(DELETE, {"id": bobs["id"]}, token=person.token) == "NOT_FOUND"
    assert await CannedReply.filter(shortcut__in=["mine"]).count() == 0
    assert {(row.shortcut, row.text) for row in await CannedReply.all()} == {
        ("hours", "We open at 9."),
        ("thanks", "Thanks!"),
    }

    # the owner changes theirs, an admin the shared one
    updated = (await api.data(UPDATE, {"id": bobs["id"], "s": "ty"}, token=team.bob.token))["updateCannedReply"]
    assert (updated["shortcut"], updated["text"]) == ("ty", "Thanks!")
    await api.data(UPDATE, {"id": shared["id"], "t": "We open at 10."}, token=team.admin.token)
    assert (await api.data(DELETE, {"id": shared["id"]}, token=team.admin.token))["deleteCannedReply"] == shared["id"]
    assert await listed(api, team.bob) == [("ty", "Bob Member")]


async def test_canned_reply_search_matches_the_shortcut_and_the_text(api: Api) -> None:
    team = await api.create_team()
    await create(api, team.bob, "thanks", "Thank you for writing!")
    await create(api, team.admin, "hours", "Opening hours: 9 to 5.", shared=True)
    await create(api, team.admin, "address", "Main Street 1.", shared=True)

    assert await listed(api, team.bob, "/tha") == [("thanks", "Bob Member")]
    assert await listed(api, team.bob, "OPENING") == [("hours", None)]
    assert await listed(api, team.bob, "street") == [("address", None)]
    assert await listed(api, team.bob, "nothing like it") == []
    assert await listed(api, team.carol, "thank") == []


async def test_canned_reply_bad_shortcut_text_or_placeholder_is_refused(api: Api) -> None:
    team = await api.create_team()
    await create(api, team.bob, "thanks", "Thanks!")
    await create(api, team.admin, "hours", "9 to 5", shared=True)

    refused = [
        ("", "text"),
        ("two words", "text"),
        ("x" * 33, "text"),
        ("-dash", "text"),
        ("ok", "   "),
        ("ok", "x" * 4_001),
        ("ok", "Dear {{contact.email}}"),
        ("ok", "Dear {{ contact }}"),
        ("THANKS", "taken, whatever the case"),
    ]
    for shortcut, text in refused:
        variables = {"s": shortcut, "t": text}
        assert await api.error_code(CREATE, variables, token=team.bob.token) == "VALIDATION_FAILED", (shortcut, text)
    shared_again = {"s": "hours", "t": "again", "shared": True}
    assert await api.error_code(CREATE, shared_again, token=team.admin.token) == "VALIDATION_FAILED"
    assert await CannedReply.all().count() == 2

    # the same shortcut is free for another user, and for oneself beside a shared one
    await create(api, team.carol, "thanks", "Thank you!")
    await create(api, team.bob, "hours", "My hours")
    assert await listed(api, team.bob, "hours") == [("hours", "Bob Member"), ("hours", None)]


# ---- rendering


async def test_canned_reply_render_fills_the_placeholders_from_the_conversation(api: Api) -> None:
    team = await api.create_team()
    await team.app.receive("cust", "Hello", name="Carla Cruz")
    conversation = await team.app.conversation_id("cust")
    await link(api, team.bob, conversation, {"newPerson": {"name": "Carla C. Cruz"}})
    await link(api, team.bob, conversation, {"newDeal": {"title": "Blue sofa"}})
    canned = await create(
        api, team.bob, "deal", "Hi {{contact.name}}, {{ user.name }} here about {{deal.title}} for {{person.name}}."
    )

    text = await render(api, team.bob, canned["id"], conversation)

    assert text == "Hi Carla Cruz, Bob Member here about Blue sofa for Carla C. Cruz."


async def test_canned_reply_placeholder_with_no_value_renders_empty_never_the_braces(api: Api) -> None:
    team = await api.create_team()
    await team.app.receive("anon", "Hello")  # no name, no CRM link
    conversation = await team.app.conversation_id("anon")
    canned = await create(
        api, team.admin, "hi", "Hi {{contact.name}}! Deal: {{deal.title}}; {{person.name}}.", shared=True
    )

    text = await render(api, team.carol, canned["id"], conversation)

    assert text == "Hi ! Deal: ; ."
    assert "{{" not in text


async def test_canned_reply_render_is_plain_text(api: Api) -> None:
    team = await api.create_team()
    await team.app.receive("eve", "Hello", name="<b>Eve</b> & Co")
    conversation = await team.app.conversation_id("eve")
    canned = await create(api, team.bob, "hi", "Hi {{contact.name}} <3")

    assert await render(api, team.bob, canned["id"], conversation) == "Hi <b>Eve</b> & Co <3"


async def test_canned_reply_render_needs_access_to_both_and_crosses_no_account(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()
    bobs = await create(api, team.bob, "mine", "Mine")
    outsider = await api.create_user(team.admin, "Olga Outsider")  # no app shared with her
    globex = await api.create_account("Globex", "Gil Globex")
    theirs = await create(api, globex, "theirs", "Theirs", shared=True)

    assert await api.error_code(RENDER, {"id": bobs["id"], "c": conversation}, token=team.carol.token) == "NOT_FOUND"
    shared = await create(api, team.admin, "shared", "Shared", shared=True)
    assert await api.error_code(RENDER, {"id": shared["id"], "c": conversation}, token=outsider.token) == "NOT_FOUND"
    assert await api.error_code(RENDER, {"id": theirs["id"], "c": conversation}, token=team.bob.token) == "NOT_FOUND"
    assert await api.error_code(RENDER, {"id": theirs["id"], "c": conversation}, token=globex.token) == "NOT_FOUND"
    for mutation, variables in ((UPDATE, {"id": theirs["id"], "t": "x"}), (DELETE, {"id": theirs["id"]})):
        assert await api.error_code(mutation, variables, token=team.admin.token) == "NOT_FOUND"
    assert await listed(api, globex) == [("theirs", None)]
    assert await listed(api, team.admin) == [("shared", None)]


async def test_canned_reply_outside_the_reply_window_is_refused_like_any_reply(inbox: Inbox) -> None:
    # given a WhatsApp conversation whose 24-hour window has closed
    conversation = await whatsapp_conversation(inbox)
    canned = await create(inbox.api, inbox.admin, "hi", "Hi {{contact.name}}, still interested?")
    inbox.clock.advance(hours=25)
    text = await render(inbox.api, inbox.admin, canned["id"], conversation)
    before = await snapshot()

    # when the rendered text is sent
    result = await inbox.api.execute(SEND, {"c": conversation, "t": text}, token=inbox.admin.token)

    # then it is refused like any free-form reply, and nothing is stored or sent
    assert result["errors"][0]["extensions"]["code"] == "REPLY_WINDOW_CLOSED"
    assert await snapshot() == before
    assert await Message.filter(text=text).count() == 0
    assert (await inbox.conversation(CUSTOMER))["canReply"] is False
