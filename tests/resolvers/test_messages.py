"""The inbound path every provider uses (R-NEW, R-REOPEN, R-IDEMPOTENT), through the API channel
webhook, and the thread's paging both ways. The webhook's own refusals are in
tests/providers/test_api_channel.py."""

import asyncio
import json

from models import InboxEvent, InboxEventType, Message
from resolvers.clock import ManualClock
from resolvers.ids import pk_of
from tests.support import ASSIGN, CLOSE, Api

THREAD = """query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { conversation(id: $id) {
  contact { externalId name }
  messages(first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { text direction status senderName } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }"""


async def _thread(api: Api, token: str, conversation: str, **paging: object) -> dict:
    return (await api.data(THREAD, {"id": conversation, **paging}, token=token))["conversation"]


def _texts(thread: dict) -> list[str]:
    return [edge["node"]["text"] for edge in thread["messages"]["edges"]]


async def _event_types(app_id: str) -> list[InboxEventType]:
    return [row.type for row in await InboxEvent.filter(app_id=pk_of("MessagingApp", app_id)).order_by("id")]


async def test_r_new_first_message_starts_an_open_unassigned_conversation(api: Api) -> None:
    team = await api.create_team()

    await team.app.receive("cust", "Hi, is the blue one in stock?", name="Carla")

    assert await api.contacts_in(team.bob, "UNASSIGNED") == ["cust"]
    thread = await _thread(api, team.bob.token, await team.app.conversation_id("cust"))
    assert thread["contact"] == {"externalId": "cust", "name": "Carla"}
    assert thread["messages"]["edges"][0]["node"] == {
        "text": "Hi, is the blue one in stock?",
        "direction": "INBOUND",
        "status": "RECEIVED",
        "senderName": "Carla",
    }
    assert await _event_types(team.app.id) == [InboxEventType.CONVERSATION_CREATED, InboxEventType.MESSAGE_RECEIVED]


async def test_r_new_one_live_conversation_per_app_and_contact(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    second = await api.install_api_app(team.admin, name="Second", share_with=[team.bob])

    await team.app.receive("cust", "one")
    clock.advance(seconds=1)
    await team.app.receive("cust", "two")
    clock.advance(seconds=1)
    await team.app.receive("other", "three")
    clock.advance(seconds=1)
    await second.receive("cust", "four")

    assert await api.contacts_in(team.bob, "UNASSIGNED") == ["cust", "other", "cust"]
    assert _texts(await _thread(api, team.bob.token, await team.app.conversation_id("cust"))) == ["one", "two"]
    assert _texts(await _thread(api, team.bob.token, await second.conversation_id("cust"))) == ["four"]


async def test_r_new_contact_name_follows_the_latest_message(api: Api) -> None:
    team = await api.create_team()

    await team.app.receive("cust", "one", name="Carla")
    await team.app.receive("cust", "two", name="Carla Gómez")
    await team.app.receive("cust", "three")  # no name: keeps the one known

    thread = await _thread(api, team.bob.token, await team.app.conversation_id("cust"))
    assert thread["contact"]["name"] == "Carla Gómez"


async def test_r_reopen_inbound_message_reopens_a_closed_conversation_with_its_assignee(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()
    await api.data(ASSIGN, {"id": conversation, "u": team.bob.id}, token=team.admin.token)
    await api.data(CLOSE, {"id": conversation}, token=team.bob.token)

    await team.app.receive("cust", "one more question")

    assert await api.contacts_in(team.bob, "CLOSED") == []
    assert await api.contacts_in(team.bob, "ASSIGNED_TO_ME") == ["cust"]
    assert await api.contacts_in(team.carol, "ASSIGNED_TO_OTHERS") == ["cust"]
    assert (await _event_types(team.app.id))[-2:] == [
        InboxEventType.CONVERSATION_REOPENED,
        InboxEventType.MESSAGE_RECEIVED,
    ]


async def test_r_reopen_inbound_message_reopens_a_closed_unassigned_conversation_in_unassigned(api: Api) -> None:
    team = await api.create_team()
    await team.app.receive("cust")
    await api.data(CLOSE, {"id": await team.app.conversation_id("cust")}, token=team.bob.token)

    await team.app.receive("cust", "hello again")

    assert await api.contacts_in(team.carol, "UNASSIGNED") == ["cust"]
    assert await api.contacts_in(team.carol, "CLOSED") == []


async def test_r_idempotent_a_duplicate_delivery_is_stored_once_and_answered_200(api: Api) -> None:
    team = await api.create_team()
    first = await team.app.receive("cust", "only once", message_id="wamid-1")
    events_before = await _event_types(team.app.id)

    again = await team.app.receive("cust", "only once", message_id="wamid-1")

    assert first.json()["duplicate"] is False and again.json()["duplicate"] is True
    assert _texts(await _thread(api, team.bob.token, await team.app.conversation_id("cust"))) == ["only once"]
    assert await _event_types(team.app.id) == events_before


async def test_r_idempotent_two_concurrent_deliveries_are_stored_once(api: Api) -> None:
    """On PostgreSQL both transactions really run at once; the unique constraint decides."""
    team = await api.create_team()
    for round in range(3):
        body = json.dumps(
            {"messageId": f"race-{round}", "sender": {"id": f"new-{round}"}, "text": f"hi {round}"}
        ).encode()

        responses = await asyncio.gather(team.app.post(body), team.app.post(body))

        assert [response.status_code for response in responses] == [200, 200]
        assert sorted(response.json()["duplicate"] for response in responses) == [False, True]
        thread = await _thread(api, team.bob.token, await team.app.conversation_id(f"new-{round}"))
        assert _texts(thread) == [f"hi {round}"]
    assert await Message.filter(app_id=pk_of("MessagingApp", team.app.id)).count() == 3
    assert await _event_types(team.app.id) == [InboxEventType.CONVERSATION_CREATED, InboxEventType.MESSAGE_RECEIVED] * 3


async def test_r_new_two_concurrent_first_messages_from_one_contact_share_one_conversation(api: Api) -> None:
    team = await api.create_team()
    bodies = [
        json.dumps({"messageId": f"m-{n}", "sender": {"id": "cust"}, "text": f"part {n}"}).encode() for n in (1, 2)
    ]

    responses = await asyncio.gather(*(team.app.post(body) for body in bodies))

    assert [response.status_code for response in responses] == [200, 200]
    assert await api.contacts_in(team.bob, "UNASSIGNED") == ["cust"]
    thread = await _thread(api, team.bob.token, await team.app.conversation_id("cust"))
    assert sorted(_texts(thread)) == ["part 1", "part 2"]


async def _three_pages(api: Api, clock: ManualClock, size: str, cursor: str, moves_to: str) -> list[dict]:
    """Given five messages m0..m4, the first three pages of two, each asked with the last one's cursor."""
    team = await api.create_team()
    for n in range(5):
        clock.advance(seconds=1)
        await team.app.receive("cust", f"m{n}")
    conversation = await team.app.conversation_id("cust")
    pages, paging = [], {size: 2}
    for _ in range(3):
        page = await _thread(api, team.bob.token, conversation, **paging)
        pages.append(page)
        paging = {size: 2, cursor: page["messages"]["pageInfo"][moves_to]}
    return pages


def _page_info(pages: list[dict], flag: str) -> list[bool]:
    return [page["messages"]["pageInfo"][flag] for page in pages]


async def test_messages_page_forward_with_first_and_after(api: Api, clock: ManualClock) -> None:
    pages = await _three_pages(api, clock, "first", "after", "endCursor")

    assert [_texts(page) for page in pages] == [["m0", "m1"], ["m2", "m3"], ["m4"]]
    assert _page_info(pages, "hasNextPage") == [True, True, False]
    assert _page_info(pages, "hasPreviousPage") == [False, True, True]
    assert pages[0]["messages"]["pageInfo"]["startCursor"] == pages[0]["messages"]["edges"][0]["cursor"]


async def test_messages_page_backward_with_last_and_before(api: Api, clock: ManualClock) -> None:
    pages = await _three_pages(api, clock, "last", "before", "startCursor")

    assert [_texts(page) for page in pages] == [["m3", "m4"], ["m1", "m2"], ["m0"]]
    assert _page_info(pages, "hasPreviousPage") == [True, True, False]
    assert _page_info(pages, "hasNextPage") == [False, True, True]
    assert pages[0]["messages"]["pageInfo"]["endCursor"] == pages[0]["messages"]["edges"][-1]["cursor"]


async def test_messages_page_size_out_of_range_or_bad_cursor_is_validation_failed(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()

    for paging in ({"first": 0}, {"first": 101}, {"last": 0}, {"last": 101}, {"after": "bad"}, {"before": "WyJ4Il0"}):
        assert await api.error_code(THREAD, {"id": conversation, **paging}, token=team.bob.token) == "VALIDATION_FAILED"


async def test_attachments_that_are_not_http_are_never_served(api: Api) -> None:
    # given a message stored before webhooks dropped such links
    team = await api.create_team()
    await team.app.receive("cust", "See attached")
    links = [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>x</script>",
        "file:///etc/passwd",
        "https://cdn.example/a.jpg",
    ]
    await Message.all().update(attachments=[{"url": url, "contentType": "image/jpeg"} for url in links])

    # when the thread is read
    query = (
        "query($id: ID!) { conversation(id: $id) { messages { edges { node { attachments { url contentType } } } } } }"
    )
    data = await api.data(query, {"id": await team.app.conversation_id("cust")}, token=team.bob.token)

    # then only the http(s) link is there to click
    (edge,) = data["conversation"]["messages"]["edges"]
    assert edge["node"]["attachments"] == [{"url": "https://cdn.example/a.jpg", "contentType": "image/jpeg"}]
