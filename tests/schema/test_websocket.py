"""The WebSocket transport: who may connect, how many subscriptions, and slow subscribers."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from settings import Settings
from tests.realtime_support import ALLOWED_ORIGIN, PROTOCOL, RecheckOutOfTheWay, Server, Socket, StalledSocket
from tests.support import Api, QueryCounter

BIG = "subscription { inboxEvents { type message { text } conversation { lastMessage { text } } } }"


@pytest.fixture
def broker_url() -> str | None:
    """Refusals do not depend on the broker: the in-memory one is enough here."""
    return None


async def close_code_after_init(server: Server, payload: object) -> int:
    async with connect(server.ws_url, subprotocols=[PROTOCOL]) as connection:  # type: ignore[list-item]
        await connection.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(ConnectionClosed) as closed:
            await connection.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_connection_init_without_a_token_is_closed_with_4403(api: Api, server: Server) -> None:
    assert await close_code_after_init(server, {}) == 4403
    assert await close_code_after_init(server, None) == 4403


async def test_the_token_key_may_be_spelled_like_the_http_header(api: Api, server: Server) -> None:
    admin = await api.create_account()
    async with Socket.opened(server, None, payload={"Authorization": f"Bearer {admin.token}"}) as socket:
        answer = await socket.message(await socket.subscribe("{ viewer { name } }"))
    assert answer["payload"]["data"] == {"viewer": {"name": admin.name}}


async def test_connection_init_with_a_bad_token_is_closed_with_4403(api: Api, server: Server) -> None:
    assert await close_code_after_init(server, {"authorization": "Bearer sb_not-a-real-token"}) == 4403
    assert await close_code_after_init(server, {"authorization": "Basic dXNlcjpwYXNz"}) == 4403


async def test_subscribing_before_connection_init_is_closed(api: Api, server: Server) -> None:
    async with connect(server.ws_url, subprotocols=[PROTOCOL]) as connection:  # type: ignore[list-item]
        await connection.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": BIG}}))
        with pytest.raises(ConnectionClosed) as closed:
            await connection.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


@pytest.mark.parametrize("frame", ['{"type":"ping","payload":' + "[" * 100_000 + "]" * 100_000 + "}", "[" * 100_000])
async def test_a_message_nested_too_deeply_closes_the_socket_with_4400(api: Api, server: Server, frame: str) -> None:
    admin = await api.create_account()
    async with Socket.opened(server, admin.token) as socket:
        await socket.connection.send(frame)
        with pytest.raises(ConnectionClosed) as closed:
            await socket.connection.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


async def test_a_page_from_a_forbidden_origin_is_refused_at_the_handshake(api: Api, server: Server) -> None:
    admin = await api.create_account()
    with pytest.raises(InvalidStatus) as refused:
        async with connect(server.ws_url, subprotocols=[PROTOCOL], origin="https://evil.example"):  # type: ignore[list-item,arg-type]
            pass
    assert refused.value.response.status_code == 403
    async with Socket.opened(server, admin.token, origin=ALLOWED_ORIGIN):
        pass


async def test_too_many_subscriptions_on_one_connection_are_refused(api: Api, server: Server) -> None:
    admin = await api.create_account()
    app = await api.install_api_app(admin)
    async with Socket.opened(server, admin.token) as socket:
        ops = [await socket.subscribe() for _ in range(3)]
        refused = await socket.subscribe()
        error = await socket.message(refused)
        await app.receive("cust-1", "still served")
        firsts = [await socket.event(op) for op in ops]

    assert error["type"] == "error"
    assert error["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert [event["type"] for event in firsts] == ["CONVERSATION_CREATED"] * 3


async def test_queries_and_mutations_also_run_over_the_socket(api: Api, server: Server) -> None:
    admin = await api.create_account()
    async with Socket.opened(server, admin.token) as socket:
        op = await socket.subscribe("{ viewer { name } }")
        answer = await socket.message(op)

    assert answer["payload"]["data"] == {"viewer": {"name": admin.name}}


async def test_each_operation_on_a_socket_sees_access_as_it_is_now(api: Api, server: Server) -> None:
    admin = await api.create_account()
    bea = await api.create_user(admin, "Bea Member")
    app = await api.install_api_app(admin, share_with=[bea])
    await app.receive("cust-1", "hello")
    query = "{ conversations(section: UNASSIGNED) { edges { node { id } } } }"
    async with Socket.opened(server, bea.token) as socket:
        before = await socket.message(await socket.subscribe(query))
        await api.data(
            "mutation($id: ID!) { shareMessagingApp(id: $id, userIds: []) { id } }", {"id": app.id}, token=admin.token
        )
        after = await socket.message(await socket.subscribe(query))

    assert len(before["payload"]["data"]["conversations"]["edges"]) == 1
    assert after["payload"]["data"]["conversations"]["edges"] == []


class TestSigningIn(RecheckOutOfTheWay):  # the periodic re-check stays out of the count
    async def test_connecting_and_a_first_operation_read_the_token_once_and_each_later_operation_again(
        self, api: Api, server: Server
    ) -> None:
        admin = await api.create_account()
        with QueryCounter() as connecting:
            async with Socket.opened(server, admin.token) as socket:
                first = await socket.message(await socket.subscribe("{ viewer { name } }"))
                with QueryCounter() as later:
                    second = await socket.message(await socket.subscribe("{ viewer { name } }"))

        def token_reads(counter: QueryCounter) -> list[str]:
            # (reads only: a token's lastUsedAt is also written, at most once a minute)
            return [s for s in counter.statements if "api_token" in s and s.lstrip().upper().startswith("SELECT")]

        assert first["payload"]["data"] == second["payload"]["data"] == {"viewer": {"name": admin.name}}
        assert len(token_reads(connecting)) == 2, connecting.statements  # connection_init, then the second operation
        assert len(token_reads(later)) == 1, later.statements


class TestKeepAlive:
    @pytest.fixture
    def server_settings(self, server_settings: Settings) -> Settings:
        return replace(server_settings, websocket_ping_seconds=0.05)

    async def test_an_idle_connection_is_pinged(self, api: Api, server: Server) -> None:
        admin = await api.create_account()
        async with Socket.opened(server, admin.token) as socket:
            first = json.loads(await socket.connection.recv())
            second = json.loads(await socket.connection.recv())

        assert first == second == {"type": "ping"}


class TestSlowSubscriber:
    @pytest.fixture
    def server_settings(self, server_settings: Settings) -> Settings:
        return replace(server_settings, subscriber_queue_size=4, websocket_ping_seconds=0.05)

    async def test_slow_subscriber_is_cut_off_while_a_fast_one_gets_everything(self, api: Api, server: Server) -> None:
        admin = await api.create_account()
        bea = await api.create_user(admin, "Bea Member")
        app = await api.install_api_app(admin, share_with=[bea])
        async with Socket.opened(server, admin.token) as fast:
            fast_op = await fast.subscribe(BIG)
            slow = await StalledSocket.subscribe(server, bea.token, BIG)
            texts = [f"{number} " + "x" * 60_000 for number in range(60)]
            received = []
            for text in texts:
                await app.receive("cust-1", text)
                received.append(await fast.event(fast_op))
                if received[-1]["type"] == "CONVERSATION_CREATED":
                    received.append(await fast.event(fast_op))
            slow_messages, last = await slow.read_until_ended()
            slow.close()

        assert [event["message"]["text"] for event in received if event["message"]] == texts
        cut_off = slow_messages[-1]
        assert cut_off["payload"]["errors"][0]["extensions"]["code"] == "SUBSCRIBER_TOO_SLOW"
        assert len(slow_messages) < len(received)
        assert last["type"] == "complete"
