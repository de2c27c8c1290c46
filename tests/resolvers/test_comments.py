"""R-COMMENT: internal comments in the thread, never sent, never in CRM notes, not moving the
conversation; mentions notify by desktop and email as each user chose; nobody without access."""

from __future__ import annotations

from typing import Any

from models import InboxEvent, Message, MessageMention, OutboundSend, User, UserStatus
from resolvers.clock import ManualClock
from resolvers.ids import pk_of
from tests.notify_support import Team, deliver, set_choice, sink, team  # noqa: F401 (fixtures)
from tests.resolvers.crm_support import carla_linked, notes_of, texts
from tests.smtp_sink import SmtpSink
from tests.support import CLOSE, Api, Person, QueryCounter

COMMENT = """mutation($c: ID!, $t: String!, $m: [ID!]) {
  addComment(conversationId: $c, text: $t, mentionUserIds: $m) {
    id direction text senderName status sentBy { name } mentions { name } } }"""
THREAD = """query($id: ID!) { conversation(id: $id) {
  status section lastMessageAt lastMessage { text direction } canReply replyWindowEndsAt
  messages(first: 100) { edges { node { text direction mentions { name } } } } } }"""
NOTIFICATIONS = """{ notifications { edges { node { kind actor { name } message { text direction }
  conversation { id } } } } }"""
UNASSIGNED = "{ conversations(section: UNASSIGNED) { edges { node { id contact { externalId } } } } }"


async def comment(api: Api, by: Person, conversation: str, text: str, *mentioned: Person) -> dict[str, Any]:
    variables = {"c": conversation, "t": text, "m": [person.id for person in mentioned]}
    return (await api.data(COMMENT, variables, token=by.token))["addComment"]


async def thread(api: Api, by: Person, conversation: str) -> dict[str, Any]:
    return (await api.data(THREAD, {"id": conversation}, token=by.token))["conversation"]


async def notified(api: Api, person: Person) -> list[dict[str, Any]]:
    return [edge["node"] for edge in (await api.data(NOTIFICATIONS, token=person.token))["notifications"]["edges"]]


async def carla_writes(api: Api, team: Team) -> str:
    await team.app.receive("carla", "Is the sofa still available?", name="Carla")
    data = await api.data(UNASSIGNED, token=team.ana.token)
    return str(data["conversations"]["edges"][0]["node"]["id"])


# ---- the comment in the thread


async def test_r_comment_is_an_internal_message_in_the_thread_that_does_not_move_the_conversation(
    api: Api, team: Team, clock: ManualClock
) -> None:
    # given two conversations, Dora's the newer one
    conversation = await carla_writes(api, team)
    clock.advance(minutes=1)
    await team.app.receive("dora", "Hello", name="Dora")
    before = await thread(api, team.bob, conversation)
    clock.advance(minutes=5)

    # when Bob comments on Carla's
    added = await comment(api, team.bob, conversation, "She asked last week too")

    # then the comment is INTERNAL, in the thread after the customer's message
    assert added == {
        "id": added["id"],
        "direction": "INTERNAL",
        "text": "She asked last week too",
        "senderName": "Bob Baker",
        "status": "RECEIVED",
        "sentBy": {"name": "Bob Baker"},
        "mentions": [],
    }
    after = await thread(api, team.bob, conversation)
    assert [(e["node"]["text"], e["node"]["direction"]) for e in after["messages"]["edges"]] == [
        ("Is the sofa still available?", "INBOUND"),
        ("She asked last week too", "INTERNAL"),
    ]
    # and the conversation has not moved: same section, last message, time and reply window
    assert {key: value for key, value in after.items() if key != "messages"} == {
        key: value for key, value in before.items() if key != "messages"
    }
    assert after["lastMessage"] == {"text": "Is the sofa still available?", "direction": "INBOUND"}
    order = await api.data(UNASSIGNED, token=team.bob.token)
    assert [e["node"]["contact"]["externalId"] for e in order["conversations"]["edges"]] == ["dora", "carla"]


async def test_r_comment_on_a_closed_conversation_keeps_it_closed(api: Api, team: Team) -> None:
    conversation = await carla_writes(api, team)
    await api.data(CLOSE, {"id": conversation}, token=team.bob.token)

    await comment(api, team.cleo, conversation, "Closed for good, she bought elsewhere")

    after = await thread(api, team.bob, conversation)
    assert (after["status"], after["section"]) == ("CLOSED", "CLOSED")
    assert after["messages"]["edges"][-1]["node"]["direction"] == "INTERNAL"


async def test_r_comment_is_never_handed_to_the_provider(api: Api, team: Team) -> None:
    conversation = await carla_writes(api, team)

    await comment(api, team.bob, conversation, "Internal only")

    stored = await Message.get(text="Internal only")
    assert stored.provider_message_id is None
    assert await OutboundSend.all().count() == 0


async def test_r_comment_is_never_written_into_crm_notes(api: Api, clock: ManualClock) -> None:
    # given a conversation linked to a person: its history is a note there
    team, conversation, person = await carla_linked(api, "Hello")
    clock.advance(minutes=1)

    # when Bob comments, and Carla writes again (the note is re-rendered)
    await comment(api, team.bob, conversation, "Careful, she is a tough negotiator")
    clock.advance(minutes=1)
    await team.app.receive("cust", "Any discount?", name="Carla")

    # then the note holds the customer's messages, never the comment
    [note] = await notes_of(api, team.bob, person)
    assert texts(note) == ["Hello", "Any discount?"]
    assert "negotiator" not in note["content"]


# ---- mentions


async def test_r_comment_mention_notifies_by_desktop_and_email(api: Api, team: Team, sink: SmtpSink) -> None:
    # given a conversation; the notifications of Carla's message are left aside
    conversation = await carla_writes(api, team)
    before = {person.name: len(await notified(api, person)) for person in team.everyone}
    await deliver(sink)
    sink.received.clear()

    # when Ana mentions Bob and Cleo (and Bob twice)
    added = await comment(
        api, team.ana, conversation, "@Bob @Cleo can one of you call her?", team.bob, team.cleo, team.bob
    )

    # then each is told once, on the desktop, of the comment and who wrote it
    assert [user["name"] for user in added["mentions"]] == ["Bob Baker", "Cleo Cruz"]
    for person in (team.bob, team.cleo):
        newest = (await notified(api, person))[0]
        assert newest == {
            "kind": "MENTIONED",
            "actor": {"name": "Ana Admin"},
            "message": {"text": "@Bob @Cleo can one of you call her?", "direction": "INTERNAL"},
            "conversation": {"id": conversation},
        }
        assert len(await notified(api, person)) == before[person.name] + 1
    # and nobody else: not the author, not Dan
    assert len(await notified(api, team.ana)) == before["Ana Admin"]
    assert len(await notified(api, team.dan)) == before["Dan Diaz"]
    # and by email, one each, saying who mentioned them and what
    assert await deliver(sink) == 2
    assert sorted(address for mail in sink.received for address in mail.to) == sorted(
        [team.emails[team.bob.id], team.emails[team.cleo.id]]
    )
    mail = sink.to(team.emails[team.bob.id])[0]
    assert "Ana Admin mentioned you" in mail.subject
    assert "@Bob @Cleo can one of you call her?" in mail.part("text/plain")


async def test_r_comment_mention_follows_the_users_settings(api: Api, team: Team, sink: SmtpSink) -> None:
    # given Bob turned mentions off on both channels, Cleo only email
    conversation = await carla_writes(api, team)
    await set_choice(api, team.bob, "MENTIONED", desktop=False, email=False)
    await set_choice(api, team.cleo, "MENTIONED", desktop=True, email=False)
    await deliver(sink)
    sink.received.clear()

    await comment(api, team.ana, conversation, "FYI", team.bob, team.cleo)

    assert [n["kind"] for n in await notified(api, team.bob)].count("MENTIONED") == 0
    assert [n["kind"] for n in await notified(api, team.cleo)].count("MENTIONED") == 1
    assert await deliver(sink) == 0


async def test_r_comment_mentioning_yourself_tells_nobody(api: Api, team: Team, sink: SmtpSink) -> None:
    conversation = await carla_writes(api, team)
    await deliver(sink)
    sink.received.clear()

    added = await comment(api, team.bob, conversation, "note to self", team.bob)

    assert added["mentions"] == [{"name": "Bob Baker"}]
    assert [n["kind"] for n in await notified(api, team.bob)].count("MENTIONED") == 0
    assert await deliver(sink) == 0


async def test_r_comment_mentioning_someone_without_access_is_refused_and_nothing_is_stored(
    api: Api, team: Team, sink: SmtpSink
) -> None:
    # given a conversation Dan (no access to the app) cannot see
    conversation = await carla_writes(api, team)
    await deliver(sink)
    sink.received.clear()
    events = await InboxEvent.all().count()

    # when Ana mentions Bob and Dan
    result = await api.execute(
        COMMENT, {"c": conversation, "t": "Dan, look", "m": [team.bob.id, team.dan.id]}, token=team.ana.token
    )

    # then it is refused, naming Dan, and nothing is stored, nobody told
    [error] = result["errors"]
    assert error["extensions"]["code"] == "MENTION_NO_ACCESS"
    assert error["extensions"]["userIds"] == [team.dan.id]
    assert len((await thread(api, team.ana, conversation))["messages"]["edges"]) == 1
    assert await Message.filter(text="Dan, look").count() == 0
    assert await MessageMention.all().count() == 0
    assert await InboxEvent.all().count() == events
    assert [n["kind"] for n in await notified(api, team.bob)].count("MENTIONED") == 0
    assert await deliver(sink) == 0


async def test_r_comment_mentioning_a_deactivated_user_is_refused(api: Api, team: Team) -> None:
    conversation = await carla_writes(api, team)
    await User.filter(id=pk_of("User", team.cleo.id)).update(status=UserStatus.DEACTIVATED)

    variables = {"c": conversation, "t": "Cleo?", "m": [team.cleo.id]}
    assert await api.error_code(COMMENT, variables, token=team.ana.token) == "MENTION_NO_ACCESS"
    assert await Message.filter(text="Cleo?").count() == 0


async def test_r_comment_mention_of_another_accounts_user_or_a_malformed_id_is_not_found(api: Api, team: Team) -> None:
    conversation = await carla_writes(api, team)
    stranger = await api.create_account("Globex", "Gil Globex")

    for mentioned in ([stranger.id], ["not-an-id"], [conversation]):
        variables = {"c": conversation, "t": "Hello", "m": mentioned}
        assert await api.error_code(COMMENT, variables, token=team.ana.token) == "NOT_FOUND"
    assert await Message.filter(text="Hello").count() == 0


# ---- who may comment, what


async def test_r_comment_without_access_is_not_found(api: Api, team: Team) -> None:
    conversation = await carla_writes(api, team)
    stranger = await api.create_account("Globex", "Gil Globex")

    for person in (team.dan, stranger):
        assert await api.error_code(COMMENT, {"c": conversation, "t": "hi"}, token=person.token) == "NOT_FOUND"
    assert len((await thread(api, team.ana, conversation))["messages"]["edges"]) == 1


async def test_r_comment_blank_or_too_long_text_is_refused(api: Api, team: Team) -> None:
    conversation = await carla_writes(api, team)

    for text in ("", "   \n", "x" * 64_001):
        assert await api.error_code(COMMENT, {"c": conversation, "t": text}, token=team.bob.token) == (
            "VALIDATION_FAILED"
        )
    assert len((await thread(api, team.ana, conversation))["messages"]["edges"]) == 1


async def test_r_comment_deleting_the_conversation_erases_its_comments_and_mentions(api: Api, team: Team) -> None:
    conversation = await carla_writes(api, team)
    await comment(api, team.bob, conversation, "secret plan", team.cleo)

    await api.data("mutation($id: ID!) { deleteConversation(id: $id) }", {"id": conversation}, token=team.ana.token)

    assert await Message.filter(text="secret plan").count() == 0
    assert await MessageMention.all().count() == 0
    assert await notified(api, team.cleo) == []


async def test_r_comment_a_thread_with_mentions_costs_the_same_queries_for_5_and_50_comments(
    api: Api, team: Team
) -> None:
    conversation = await carla_writes(api, team)
    costs = {}
    for total in (5, 50):
        while len((await thread(api, team.bob, conversation))["messages"]["edges"]) < total + 1:
            await comment(api, team.ana, conversation, "ping", team.bob, team.cleo)
        with QueryCounter() as counter:
            data = await thread(api, team.bob, conversation)
        assert data["messages"]["edges"][-1]["node"]["mentions"] == [{"name": "Bob Baker"}, {"name": "Cleo Cruz"}]
        costs[total] = counter.statements
    assert len(costs[50]) == len(costs[5]), "\n".join(costs[50])
