"""Subscription.inboxEvents over a real WebSocket, on the in-memory broker and on Redis."""

from __future__ import annotations

from resolvers.realtime import event_cursor, event_id_of
from tests.realtime_support import Server, Socket
from tests.resolvers.crm_support import UNLINK, link
from tests.support import Api, ApiApp, Person

CONVERSATION_ID = """query($s: Section!) { conversations(section: $s) { edges { node { id } } } }"""
CURSOR = "{ inboxEventCursor }"


async def conversation_of(api: Api, person: Person, section: str = "UNASSIGNED") -> str:
    data = await api.data(CONVERSATION_ID, {"s": section}, token=person.token)
    return data["conversations"]["edges"][0]["node"]["id"]


async def mutate(api: Api, person: Person, mutation: str, **variables: str) -> None:
    names = ", ".join(f"${name}: ID!" for name in variables)
    args = ", ".join(f"{name}: ${name}" for name in variables)
    selection = "" if mutation == "deleteConversation" else " { id }"
    await api.data(f"mutation({names}) {{ {mutation}({args}){selection} }}", variables, token=person.token)


async def share(api: Api, admin: Person, app: ApiApp, people: list[Person]) -> None:
    await api.data(
        "mutation($id: ID!, $u: [ID!]!) { shareMessagingApp(id: $id, userIds: $u) { id } }",
        {"id": app.id, "u": [person.id for person in people]},
        token=admin.token,
    )


async def test_subscriber_receives_every_change_with_the_conversation_as_it_is_after_it(
    api: Api, server: Server
) -> None:
    admin = await api.create_account()
    bea = await api.create_user(admin, "Bea Member")
    app = await api.install_api_app(admin, share_with=[bea])
    async with Socket.opened(server, bea.token) as socket:
        op = await socket.subscribe()
        await app.receive("cust-1", "Hi there", name="Carla")
        created, received = await socket.events(op, 2)
        conversation_id = await conversation_of(api, admin)
        # Each payload carries the conversation as loaded when the event is delivered, at least as
        # new as right after the change: wait for each before the next change to see each state.
        await mutate(api, admin, "assignConversation", id=conversation_id, userId=bea.id)
        assigned = await socket.event(op)
        await mutate(api, bea, "closeConversation", id=conversation_id)
        closed = await socket.event(op)
        await mutate(api, bea, "reopenConversation", id=conversation_id)
        reopened = await socket.event(op)
        await mutate(api, admin, "deleteConversation", id=conversation_id)
        deleted = await socket.event(op)

    assert created["type"] == "CONVERSATION_CREATED"
    assert received["type"] == "MESSAGE_RECEIVED"
    assert received["conversationId"] == conversation_id
    assert received["message"] == {"text": "Hi there", "direction": "INBOUND"}
    assert received["conversation"]["contact"] == {"externalId": "cust-1"}
    assert received["conversation"]["lastMessage"] == {"text": "Hi there"}
    assert received["actor"] is None
    assert assigned["type"] == "CONVERSATION_ASSIGNED"
    assert assigned["conversation"]["assignee"] == {"name": "Bea Member"}
    assert assigned["actor"] == {"name": admin.name}
    assert (closed["type"], closed["conversation"]["status"], closed["actor"]) == (
        "CONVERSATION_CLOSED",
        "CLOSED",
        {"name": "Bea Member"},
    )
    assert (reopened["type"], reopened["conversation"]["status"]) == ("CONVERSATION_REOPENED", "OPEN")
    assert reopened["conversation"]["assignee"] == {"name": "Bea Member"}
    assert deleted["type"] == "CONVERSATION_DELETED"
    assert deleted["conversation"] is None
    assert deleted["conversationId"] == conversation_id
    cursors = [event["cursor"] for event in (created, received, assigned, closed, reopened, deleted)]
    assert len(set(cursors)) == 6


async def test_subscriber_sees_unlinking_as_conversation_unlinked(api: Api, server: Server) -> None:
    # given Bea subscribed, and a conversation of hers
    admin = await api.create_account()
    bea = await api.create_user(admin, "Bea Member")
    app = await api.install_api_app(admin, share_with=[bea])
    await app.receive("cust-1", "Hi there", name="Carla")
    conversation_id = await conversation_of(api, admin)
    async with Socket.opened(server, bea.token) as socket:
        op = await socket.subscribe()
        # when she links it to a new person, then ends that link
        await link(api, bea, conversation_id, {"newPerson": {}})
        linked = await socket.event(op)
        await api.data(UNLINK, {"id": conversation_id, "k": "PERSON"}, token=bea.token)
        unlinked = await socket.event(op)

    # then the two events say which
    assert (linked["type"], linked["actor"]) == ("CONVERSATION_LINKED", {"name": "Bea Member"})
    assert (unlinked["type"], unlinked["actor"]) == ("CONVERSATION_UNLINKED", {"name": "Bea Member"})
    assert unlinked["conversationId"] == conversation_id


async def test_viewer_without_access_to_the_app_receives_nothing_of_it(api: Api, server: Server) -> None:
    admin = await api.create_account()
    carl = await api.create_user(admin, "Carl Outsider")
    private = await api.install_api_app(admin, name="Private")
    shared = await api.install_api_app(admin, name="Shared", share_with=[carl])
    async with Socket.opened(server, carl.token) as socket:
        op = await socket.subscribe()
        await private.receive("cust-private", "secret")
        await shared.receive("cust-shared", "hello")
        first = await socket.event(op)

    assert first["type"] == "CONVERSATION_CREATED"
    assert first["conversation"]["contact"] == {"externalId": "cust-shared"}


async def test_another_accounts_subscriber_receives_nothing(api: Api, server: Server) -> None:
    acme = await api.create_account("Acme", "Ana Acme")
    globex = await api.create_account("Globex", "Gil Globex")
    acme_app = await api.install_api_app(acme)
    globex_app = await api.install_api_app(globex)
    async with Socket.opened(server, globex.token) as socket:
        op = await socket.subscribe()
        await acme_app.receive("cust-acme", "for acme")
        await globex_app.receive("cust-globex", "for globex")
        first = await socket.event(op)

    assert first["conversation"]["contact"] == {"externalId": "cust-globex"}


async def test_access_removed_stops_delivery_of_that_apps_events(api: Api, server: Server) -> None:
    admin = await api.create_account()
    bea = await api.create_user(admin, "Bea Member")
    sales = await api.install_api_app(admin, name="Sales", share_with=[bea])
    support = await api.install_api_app(admin, name="Support", share_with=[bea])
    async with Socket.opened(server, bea.token) as socket:
        op = await socket.subscribe()
        await sales.receive("cust-1", "before")
        before = await socket.events(op, 2)
        await share(api, admin, sales, [])
        await sales.receive("cust-1", "after access removed")
        await support.receive("cust-2", "still shared")
        after = await socket.event(op)

    assert before[1]["message"] == {"text": "before", "direction": "INBOUND"}
    assert after["conversation"]["contact"] == {"externalId": "cust-2"}


async def test_conversation_filter_delivers_only_that_conversation(api: Api, server: Server) -> None:
    admin = await api.create_account()
    app = await api.install_api_app(admin)
    await app.receive("cust-1", "first")
    conversation_id = await conversation_of(api, admin)
    async with Socket.opened(server, admin.token) as socket:
        op = await socket.subscribe(variables={"c": conversation_id})
        await app.receive("cust-2", "other conversation")
        await app.receive("cust-1", "this one")
        event = await socket.event(op)

    assert (event["conversationId"], event["message"]["text"]) == (conversation_id, "this one")


async def test_subscribing_to_an_invisible_conversation_is_not_found(api: Api, server: Server) -> None:
    admin = await api.create_account()
    carl = await api.create_user(admin, "Carl Outsider")
    app = await api.install_api_app(admin)
    await app.receive("cust-1", "first")
    conversation_id = await conversation_of(api, admin)
    async with Socket.opened(server, carl.token) as socket:
        op = await socket.subscribe(variables={"c": conversation_id})
        message = await socket.message(op)

    assert message["type"] == "error"
    assert message["payload"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_viewer_dependent_fields_are_right_for_each_subscriber_of_the_same_document(
    api: Api, server: Server
) -> None:
    admin = await api.create_account()
    bea = await api.create_user(admin, "Bea Member")
    carl = await api.create_user(admin, "Carl Member")
    app = await api.install_api_app(admin, share_with=[bea, carl])
    await app.receive("cust-1", "first")
    conversation_id = await conversation_of(api, admin)
    query = "subscription { inboxEvents { type conversation { section } } }"
    async with (
        Socket.opened(server, admin.token) as ana_socket,
        Socket.opened(server, bea.token) as bea_socket,
        Socket.opened(server, carl.token) as carl_socket,
    ):
        ops = [await socket.subscribe(query) for socket in (ana_socket, bea_socket, carl_socket)]
        await mutate(api, admin, "assignConversation", id=conversation_id, userId=bea.id)
        seen = [await socket.event(op) for socket, op in zip((ana_socket, bea_socket, carl_socket), ops, strict=True)]

    assert [event["conversation"]["section"] for event in seen] == [
        "ASSIGNED_TO_OTHERS",
        "ASSIGNED_TO_ME",
        "ASSIGNED_TO_OTHERS",
    ]


async def test_resume_with_last_cursor_gets_exactly_the_missed_events_in_order_then_live(
    api: Api, server: Server
) -> None:
    admin = await api.create_account()
    app = await api.install_api_app(admin)
    start = (await api.data(CURSOR, token=admin.token))["inboxEventCursor"]
    async with Socket.opened(server, admin.token) as socket:
        op = await socket.subscribe(variables={"after": start})
        await app.receive("cust-1", "one")
        seen = await socket.events(op, 2)
    last_cursor = seen[-1]["cursor"]
    for text in ("two", "three", "four"):
        await app.receive("cust-1", text)
    async with Socket.opened(server, admin.token) as socket:
        op = await socket.subscribe(variables={"after": last_cursor})
        missed = await socket.events(op, 3)
        await app.receive("cust-1", "five")
        live = await socket.event(op)
        await app.receive("cust-1", "six")
        after_live = await socket.event(op)

    assert [event["message"]["text"] for event in missed] == ["two", "three", "four"]
    assert (live["message"]["text"], after_live["message"]["text"]) == ("five", "six")


async def test_inbox_event_cursor_is_where_live_events_continue(api: Api, server: Server) -> None:
    admin = await api.create_account()
    app = await api.install_api_app(admin)
    await app.receive("cust-1", "old")
    cursor = (await api.data(CURSOR, token=admin.token))["inboxEventCursor"]
    async with Socket.opened(server, admin.token) as socket:
        op = await socket.subscribe(variables={"after": cursor})
        await app.receive("cust-1", "new")
        event = await socket.event(op)

    assert event["message"]["text"] == "new"


async def test_subscription_after_a_cursor_newer_than_the_newest_event_is_refused(api: Api, server: Server) -> None:
    # given an account whose newest event is `newest`, and a cursor past it (e.g. kept across a
    # database restore): resuming after it would silently skip every event up to it
    admin = await api.create_account()
    app = await api.install_api_app(admin)
    await app.receive("cust-1", "old")
    newest = (await api.data(CURSOR, token=admin.token))["inboxEventCursor"]
    beyond = event_cursor(event_id_of(newest) + 1)

    async with Socket.opened(server, admin.token) as socket:
        # when a client subscribes after the cursor past the newest event, then after the newest
        refused = await socket.subscribe(variables={"after": beyond})
        refusal = await socket.message(refused)
        accepted = await socket.subscribe(variables={"after": newest})
        await app.receive("cust-1", "new")
        event = await socket.event(accepted)

    # then the first is refused with an error message, the second receives the next event
    assert refusal["type"] == "error"
    assert refusal["payload"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert event["message"]["text"] == "new"


async def test_subscribing_after_a_cursor_holding_a_number_out_of_range_is_validation_failed(
    api: Api, server: Server
) -> None:
    import base64

    admin = await api.create_account()
    async with Socket.opened(server, admin.token) as socket:
        for number in (10**30, 2**63, -1):
            forged = base64.urlsafe_b64encode(f"[{number}]".encode()).decode().rstrip("=")
            answer = await socket.message(await socket.subscribe(variables={"after": forged}))
            errors = answer["payload"] if answer["type"] == "error" else answer["payload"]["errors"]
            assert [error["extensions"]["code"] for error in errors] == ["VALIDATION_FAILED"], answer
