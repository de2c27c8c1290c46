"""What one inbound message costs in SQL statements (DESIGN.md §5, inbound webhooks), pinned so the
shared inbound path cannot silently grow back. Through the API channel webhook; the app is shared
with three members (each gets a notification row, R-NOTIFY), the conversation is not linked (R-NOTE)."""

from models import Message, Notification
from resolvers.ids import pk_of
from tests.support import Api, QueryCounter

SHARED = {
    "the app with its credentials": 1,
    "the duplicate check (R-IDEMPOTENT)": 1,
    "the conversation row locked, with its contact (R-NEW, R-REOPEN)": 1,
    "the message": 1,
    "the conversation's last message": 1,
    "the members with their notification settings (R-NOTIFY)": 1,
    "a notification row per member": 3,
    "the MESSAGE_RECEIVED event": 1,
}
EXISTING_CONVERSATION = sum(SHARED.values()) + 1  # the CRM link check (R-NOTE)
# none found: the contact looked up and created, the conversation created, CONVERSATION_CREATED;
# no link check, nobody can have linked a conversation before it is committed
FRESH_CONVERSATION = sum(SHARED.values()) + 4
EVENT_ORDER_LOCK = {"postgres": 1, "sqlite": 0}


async def test_first_message_of_a_new_contact_costs_a_fixed_number_of_statements(api: Api, db: str) -> None:
    team = await api.create_team()

    with QueryCounter() as counter:
        await team.app.receive("cust", "Hi", name="Carla")

    assert counter.count == FRESH_CONVERSATION + EVENT_ORDER_LOCK[db], "\n".join(counter.statements)
    assert await Notification.filter(app_id=pk_of("MessagingApp", team.app.id)).count() == 3


async def test_message_on_an_existing_conversation_costs_a_fixed_number_of_statements(api: Api, db: str) -> None:
    team = await api.create_team()
    await team.app.receive("cust", "Hi", name="Carla")

    with QueryCounter() as counter:
        await team.app.receive("cust", "Still there?", name="Carla")

    assert counter.count == EXISTING_CONVERSATION + EVENT_ORDER_LOCK[db], "\n".join(counter.statements)
    assert await Message.filter(app_id=pk_of("MessagingApp", team.app.id)).count() == 2


async def test_a_repeated_delivery_costs_the_app_and_the_duplicate_check(api: Api) -> None:
    team = await api.create_team()
    await team.app.receive("cust", "Hi", message_id="m-1")

    with QueryCounter() as counter:
        response = await team.app.receive("cust", "Hi", message_id="m-1")

    assert response.json() == {"ok": True, "duplicate": True}
    assert counter.count == 2, "\n".join(counter.statements)
