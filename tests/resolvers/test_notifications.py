"""R-NOTIFY: who is told, on which channel, of inbound messages and assignments; the stored list."""

from __future__ import annotations

from resolvers.clock import ManualClock
from tests.notify_support import UPDATE_SETTINGS, Team, deliver, set_choice, sink, team  # noqa: F401 (fixtures)
from tests.smtp_sink import SmtpSink
from tests.support import Api, Person, QueryCounter

NOTIFICATIONS = """query($unread: Boolean, $first: Int, $after: String) {
  notifications(unreadOnly: $unread, first: $first, after: $after) {
    unreadCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id kind readAt createdAt conversation { id contact { externalId } } message { text } actor { name } } }
  }
}"""
SETTINGS = "{ notificationSettings { kind desktop email } }"
MARK_READ = "mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }"
ASSIGN = "mutation($id: ID!, $u: ID!) { assignConversation(id: $id, userId: $u) { id } }"
UNASSIGNED = "{ conversations(section: UNASSIGNED) { edges { node { id } } } }"


async def kinds(api: Api, person: Person) -> list[str]:
    data = await api.data(NOTIFICATIONS, token=person.token)
    return [edge["node"]["kind"] for edge in data["notifications"]["edges"]]


async def emailed(sink: SmtpSink, team: Team) -> dict[str, int]:
    """Delivers what is due; returns, per person's name, how many emails they got."""
    await deliver(sink)
    return {p.name: len(sink.to(team.emails[p.id])) for p in team.everyone if sink.to(team.emails[p.id])}


async def conversation_id(api: Api, team: Team) -> str:
    data = await api.data(UNASSIGNED, token=team.ana.token)
    return data["conversations"]["edges"][0]["node"]["id"]


async def assigned(api: Api, team: Team, to: Person, by: Person) -> str:
    """A conversation (from carla) assigned to `to` by `by`; notifications so far marked read."""
    await team.app.receive("carla", "First")
    conversation = await conversation_id(api, team)
    await api.data(ASSIGN, {"id": conversation, "u": to.id}, token=by.token)
    return conversation


# ---- settings


async def test_r_notify_defaults_desktop_and_email_per_kind(api: Api, team: Team) -> None:
    data = await api.data(SETTINGS, token=team.bob.token)
    assert {row["kind"]: (row["desktop"], row["email"]) for row in data["notificationSettings"]} == {
        "NEW_MESSAGE_ASSIGNED_TO_ME": (True, True),
        "NEW_MESSAGE_ASSIGNED_TO_OTHERS": (False, False),
        "NEW_MESSAGE_UNASSIGNED": (True, False),
        "CONVERSATION_ASSIGNED_TO_ME": (True, True),
        "MENTIONED": (True, True),
    }


async def test_updating_settings_changes_only_the_viewers_choice(api: Api, team: Team) -> None:
    await set_choice(api, team.bob, "NEW_MESSAGE_UNASSIGNED", desktop=False, email=True)
    await set_choice(api, team.bob, "NEW_MESSAGE_UNASSIGNED", desktop=False, email=False)
    bob = {row["kind"]: row for row in (await api.data(SETTINGS, token=team.bob.token))["notificationSettings"]}
    cleo = {row["kind"]: row for row in (await api.data(SETTINGS, token=team.cleo.token))["notificationSettings"]}
    assert (bob["NEW_MESSAGE_UNASSIGNED"]["desktop"], bob["NEW_MESSAGE_UNASSIGNED"]["email"]) == (False, False)
    assert bob["NEW_MESSAGE_ASSIGNED_TO_ME"]["desktop"] is True
    assert (cleo["NEW_MESSAGE_UNASSIGNED"]["desktop"], cleo["NEW_MESSAGE_UNASSIGNED"]["email"]) == (True, False)


async def test_the_same_kind_twice_in_one_update_is_refused(api: Api, team: Team) -> None:
    twice = [{"kind": "NEW_MESSAGE_UNASSIGNED", "desktop": False, "email": False}] * 2
    assert await api.error_code(UPDATE_SETTINGS, {"s": twice}, token=team.bob.token) == "VALIDATION_FAILED"
    assert await kinds(api, team.bob) == []
    await team.app.receive("carla", "Hi")
    assert await kinds(api, team.bob) == ["NEW_MESSAGE_UNASSIGNED"]


# ---- who is told: desktop


async def test_r_notify_unassigned_message_tells_everyone_with_access_on_desktop(api: Api, team: Team) -> None:
    await team.app.receive("carla", "Hello?", name="Carla")
    for person in (team.ana, team.bob, team.cleo):
        data = await api.data(NOTIFICATIONS, token=person.token)
        [edge] = data["notifications"]["edges"]
        assert edge["node"]["kind"] == "NEW_MESSAGE_UNASSIGNED"
        assert edge["node"]["message"] == {"text": "Hello?"}
        assert edge["node"]["conversation"]["contact"] == {"externalId": "carla"}
        assert edge["node"]["actor"] is None
        assert data["notifications"]["unreadCount"] == 1
    assert await kinds(api, team.dan) == []


async def test_r_notify_message_in_assigned_conversation_tells_assignee_and_not_others_by_default(
    api: Api, team: Team
) -> None:
    await assigned(api, team, to=team.bob, by=team.ana)
    await team.app.receive("carla", "Are you there?")
    assert (await kinds(api, team.bob))[0] == "NEW_MESSAGE_ASSIGNED_TO_ME"
    assert await kinds(api, team.cleo) == ["NEW_MESSAGE_UNASSIGNED"]  # only the first, unassigned message
    assert await kinds(api, team.ana) == ["NEW_MESSAGE_UNASSIGNED"]
    assert await kinds(api, team.dan) == []


async def test_r_notify_assigned_to_others_reaches_who_turned_it_on(api: Api, team: Team) -> None:
    await set_choice(api, team.cleo, "NEW_MESSAGE_ASSIGNED_TO_OTHERS", desktop=True, email=False)
    await assigned(api, team, to=team.bob, by=team.ana)
    await team.app.receive("carla", "Are you there?")
    assert await kinds(api, team.cleo) == ["NEW_MESSAGE_ASSIGNED_TO_OTHERS", "NEW_MESSAGE_UNASSIGNED"]
    assert await kinds(api, team.ana) == ["NEW_MESSAGE_UNASSIGNED"]


async def test_r_notify_desktop_off_writes_no_notification_of_that_kind(api: Api, team: Team) -> None:
    await set_choice(api, team.bob, "NEW_MESSAGE_UNASSIGNED", desktop=False, email=False)
    await team.app.receive("carla", "Hi")
    assert await kinds(api, team.bob) == []
    assert await kinds(api, team.cleo) == ["NEW_MESSAGE_UNASSIGNED"]


async def test_r_assign_new_assignee_is_told_who_assigned_them(api: Api, team: Team) -> None:
    await assigned(api, team, to=team.bob, by=team.ana)
    data = await api.data(NOTIFICATIONS, token=team.bob.token)
    newest = data["notifications"]["edges"][0]["node"]
    assert newest["kind"] == "CONVERSATION_ASSIGNED_TO_ME"
    assert newest["actor"] == {"name": "Ana Admin"}
    assert newest["message"] is None
    assert "CONVERSATION_ASSIGNED_TO_ME" not in await kinds(api, team.ana)
    assert "CONVERSATION_ASSIGNED_TO_ME" not in await kinds(api, team.cleo)


async def test_r_assign_assigning_yourself_tells_nobody(api: Api, team: Team, sink: SmtpSink) -> None:
    await team.app.receive("carla", "First")
    await emailed(sink, team)
    await assigned(api, team, to=team.bob, by=team.bob)
    assert "CONVERSATION_ASSIGNED_TO_ME" not in await kinds(api, team.bob)
    assert await emailed(sink, team) == {}


async def test_r_notify_duplicate_delivery_notifies_once(api: Api, team: Team) -> None:
    await team.app.receive("carla", "Hi", message_id="m-1")
    await team.app.receive("carla", "Hi", message_id="m-1")
    assert await kinds(api, team.bob) == ["NEW_MESSAGE_UNASSIGNED"]


async def test_r_notify_user_who_lost_access_no_longer_sees_or_gets_them(api: Api, team: Team) -> None:
    await team.app.receive("carla", "Hi")
    await api.data(
        "mutation($id: ID!, $u: [ID!]!) { shareMessagingApp(id: $id, userIds: $u) { id } }",
        {"id": team.app.id, "u": [team.cleo.id]},
        token=team.ana.token,
    )
    await team.app.receive("carla", "Again")
    data = await api.data(NOTIFICATIONS, token=team.bob.token)
    assert data["notifications"]["edges"] == [] and data["notifications"]["unreadCount"] == 0
    assert await kinds(api, team.cleo) == ["NEW_MESSAGE_UNASSIGNED", "NEW_MESSAGE_UNASSIGNED"]


# ---- who is told: email


async def test_r_notify_email_defaults_unassigned_message_emails_nobody(api: Api, team: Team, sink: SmtpSink) -> None:
    await team.app.receive("carla", "Hi")
    assert await emailed(sink, team) == {}


async def test_r_notify_email_unassigned_reaches_who_turned_it_on_even_with_desktop_off(
    api: Api, team: Team, sink: SmtpSink
) -> None:
    await set_choice(api, team.cleo, "NEW_MESSAGE_UNASSIGNED", desktop=False, email=True)
    await team.app.receive("carla", "Hi")
    assert await emailed(sink, team) == {"Cleo Cruz": 1}
    assert await kinds(api, team.cleo) == []


async def test_r_notify_email_assignment_and_assigned_messages_reach_the_assignee_only(
    api: Api, team: Team, sink: SmtpSink, clock: ManualClock
) -> None:
    await assigned(api, team, to=team.bob, by=team.ana)
    assert await emailed(sink, team) == {"Bob Baker": 1}
    [mail] = sink.received
    assert "assigned to you by Ana Admin" in mail.subject
    clock.advance(seconds=301)
    await team.app.receive("carla", "Still there?")
    assert await emailed(sink, team) == {"Bob Baker": 2}


async def test_r_notify_email_assigned_to_others_reaches_who_turned_it_on(api: Api, team: Team, sink: SmtpSink) -> None:
    await set_choice(api, team.cleo, "NEW_MESSAGE_ASSIGNED_TO_OTHERS", desktop=False, email=True)
    await set_choice(api, team.bob, "CONVERSATION_ASSIGNED_TO_ME", desktop=True, email=False)
    await set_choice(api, team.bob, "NEW_MESSAGE_ASSIGNED_TO_ME", desktop=True, email=False)
    await assigned(api, team, to=team.bob, by=team.ana)
    await team.app.receive("carla", "Hello?")
    assert await emailed(sink, team) == {"Cleo Cruz": 1}


async def test_r_notify_email_never_to_people_without_access(api: Api, team: Team, sink: SmtpSink) -> None:
    for person in team.everyone:
        await set_choice(api, person, "NEW_MESSAGE_UNASSIGNED", desktop=True, email=True)
    await team.app.receive("carla", "Hi")
    assert await emailed(sink, team) == {"Ana Admin": 1, "Bob Baker": 1, "Cleo Cruz": 1}
    assert await kinds(api, team.dan) == []


# ---- the stored list


async def test_notifications_page_newest_first_with_keyset_cursor(api: Api, team: Team) -> None:
    for n in range(5):
        await team.app.receive(f"contact-{n}", f"Message {n}")
    first = await api.data(NOTIFICATIONS, {"first": 2}, token=team.bob.token)
    texts = [edge["node"]["message"]["text"] for edge in first["notifications"]["edges"]]
    assert texts == ["Message 4", "Message 3"]
    assert first["notifications"]["pageInfo"]["hasNextPage"] is True
    rest = await api.data(
        NOTIFICATIONS, {"first": 10, "after": first["notifications"]["pageInfo"]["endCursor"]}, token=team.bob.token
    )
    assert [edge["node"]["message"]["text"] for edge in rest["notifications"]["edges"]] == [
        "Message 2",
        "Message 1",
        "Message 0",
    ]
    assert rest["notifications"]["pageInfo"] == {
        **rest["notifications"]["pageInfo"],
        "hasNextPage": False,
        "hasPreviousPage": True,
    }
    assert rest["notifications"]["unreadCount"] == 5


async def test_notifications_page_bounds_and_bad_cursor_are_refused(api: Api, team: Team) -> None:
    assert await api.error_code(NOTIFICATIONS, {"first": 0}, token=team.bob.token) == "VALIDATION_FAILED"
    assert await api.error_code(NOTIFICATIONS, {"first": 101}, token=team.bob.token) == "VALIDATION_FAILED"
    assert await api.error_code(NOTIFICATIONS, {"after": "not-a-cursor"}, token=team.bob.token) == "VALIDATION_FAILED"
    assert await api.error_code(NOTIFICATIONS) == "UNAUTHENTICATED"


async def test_mark_read_by_ids_counts_what_changed_and_unread_only_lists_the_rest(api: Api, team: Team) -> None:
    for n in range(3):
        await team.app.receive(f"contact-{n}", f"Message {n}")
    edges = (await api.data(NOTIFICATIONS, token=team.bob.token))["notifications"]["edges"]
    newest = edges[0]["node"]["id"]
    assert (await api.data(MARK_READ, {"ids": [newest]}, token=team.bob.token))["markNotificationsRead"] == 1
    assert (await api.data(MARK_READ, {"ids": [newest]}, token=team.bob.token))["markNotificationsRead"] == 0
    unread = (await api.data(NOTIFICATIONS, {"unread": True}, token=team.bob.token))["notifications"]
    assert unread["unreadCount"] == 2
    assert [edge["node"]["message"]["text"] for edge in unread["edges"]] == ["Message 1", "Message 0"]
    everything = (await api.data(NOTIFICATIONS, token=team.bob.token))["notifications"]["edges"]
    assert everything[0]["node"]["readAt"] is not None and everything[1]["node"]["readAt"] is None


async def test_mark_read_without_ids_marks_all_and_others_ids_change_nothing(api: Api, team: Team) -> None:
    for n in range(3):
        await team.app.receive(f"contact-{n}", f"Message {n}")
    cleos = [
        edge["node"]["id"] for edge in (await api.data(NOTIFICATIONS, token=team.cleo.token))["notifications"]["edges"]
    ]
    assert (await api.data(MARK_READ, {"ids": cleos}, token=team.bob.token))["markNotificationsRead"] == 0
    assert (await api.data(NOTIFICATIONS, token=team.cleo.token))["notifications"]["unreadCount"] == 3
    assert (await api.data(MARK_READ, {}, token=team.bob.token))["markNotificationsRead"] == 3
    assert (await api.data(NOTIFICATIONS, token=team.bob.token))["notifications"]["unreadCount"] == 0
    assert (await api.data(NOTIFICATIONS, token=team.cleo.token))["notifications"]["unreadCount"] == 3


async def test_notification_is_a_node_only_for_its_user(api: Api, team: Team) -> None:
    await team.app.receive("carla", "Hi")
    [edge] = (await api.data(NOTIFICATIONS, token=team.bob.token))["notifications"]["edges"]
    node = "query($id: ID!) { node(id: $id) { id ... on Notification { kind } } }"
    mine = await api.data(node, {"id": edge["node"]["id"]}, token=team.bob.token)
    assert mine["node"] == {"id": edge["node"]["id"], "kind": "NEW_MESSAGE_UNASSIGNED"}
    assert (await api.data(node, {"id": edge["node"]["id"]}, token=team.cleo.token))["node"] is None


async def test_notifications_of_a_deleted_conversation_disappear(api: Api, team: Team) -> None:
    await team.app.receive("carla", "Hi")
    conversation = await conversation_id(api, team)
    await api.data("mutation($id: ID!) { deleteConversation(id: $id) }", {"id": conversation}, token=team.ana.token)
    data = await api.data(NOTIFICATIONS, token=team.bob.token)
    assert data["notifications"]["edges"] == [] and data["notifications"]["unreadCount"] == 0


async def test_a_page_of_notifications_costs_the_same_queries_for_20_rows_as_for_2(api: Api, team: Team) -> None:
    await team.app.receive("carla", "First")
    conversation = await conversation_id(api, team)
    for n in range(20):
        await team.app.receive(f"contact-{n}", f"Message {n}")
    await api.data(ASSIGN, {"id": conversation, "u": team.bob.id}, token=team.ana.token)  # newest: has an actor
    await api.data("{ viewer { id } }", token=team.bob.token)  # notes the token's lastUsedAt, once a minute (R-SIGNIN)
    costs = {}
    for size in (2, 20):
        with QueryCounter() as counter:
            page = await api.data(NOTIFICATIONS, {"first": size}, token=team.bob.token)
        assert len(page["notifications"]["edges"]) == size
        costs[size] = counter.statements
    assert len(costs[20]) == len(costs[2]), "\n".join(costs[20])


async def test_mark_read_with_an_id_that_is_no_notification_is_not_found_and_changes_nothing(
    api: Api, team: Team
) -> None:
    await team.app.receive("carla", "Hi")
    for bad in (["not-an-id"], [team.bob.id]):
        assert await api.error_code(MARK_READ, {"ids": bad}, token=team.bob.token) == "NOT_FOUND"
    assert (await api.data(NOTIFICATIONS, token=team.bob.token))["notifications"]["unreadCount"] == 1
