"""The broadcast path: one frame per payload and operation id, written straight to every socket of a
group; a socket that does not read is ended once its unsent bytes pass the limit."""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from dataclasses import replace

import pytest

from settings import Settings
from tests.realtime_support import EVENTS, WAIT, Server, Socket, StalledSocket
from tests.support import Api

BIG = "subscription { inboxEvents { type message { text } conversation { lastMessage { text } } } }"


class TestSlowSocket:
    @pytest.fixture
    def server_settings(self, server_settings: Settings) -> Settings:
        # The queue is far from full: only the socket's unsent bytes can end the slow one.
        return replace(server_settings, subscriber_queue_size=10_000, subscriber_write_buffer_bytes=200_000)

    async def test_a_socket_over_its_write_buffer_is_ended_while_every_group_gets_every_event_in_order(
        self, api: Api, server: Server
    ) -> None:
        # Given two groups (BIG, shared by admin and bea; EVENTS) and carl's socket that stopped reading
        admin = await api.create_account()
        bea = await api.create_user(admin, "Bea Member")
        carl = await api.create_user(admin, "Carl Member")
        app = await api.install_api_app(admin, share_with=[bea, carl])
        async with Socket.opened(server, admin.token) as first, Socket.opened(server, bea.token) as second:
            big_op = await first.subscribe(BIG)
            events_op = await first.subscribe(EVENTS)
            bea_op = await second.subscribe(BIG)
            slow = await StalledSocket.subscribe(server, carl.token, BIG)
            # When 40 large messages arrive
            texts = [f"{number} " + "é" * 30_000 for number in range(40)]
            big, events, beas = [], [], []
            for number, text in enumerate(texts):
                await app.receive("cust-1", text)
                count = 2 if number == 0 else 1  # CONVERSATION_CREATED first
                big += await first.events(big_op, count)
                events += await first.events(events_op, count)
                beas += await second.events(bea_op, count)
            expected = len(texts) + 1
            slow_messages, last = await slow.read_until_ended()
            slow.close()

        # Then every fast subscriber got every event once, in order; the slow one was ended
        assert [event["message"]["text"] for event in big if event["message"]] == texts
        assert beas == big
        assert [event["message"]["text"] for event in events if event["message"]] == texts
        assert slow_messages[-1]["payload"]["errors"][0]["extensions"]["code"] == "SUBSCRIBER_TOO_SLOW"
        assert len(slow_messages) < expected
        assert last["type"] == "complete"


async def test_frames_carry_the_same_payload_with_each_operations_own_id(api: Api, server: Server) -> None:
    # Given three sockets of one group: two with the same operation id, one with an id to escape
    admin = await api.create_account()
    bea = await api.create_user(admin, "Bea Member")
    app = await api.install_api_app(admin, share_with=[bea])
    odd_id = 'op "ü" \\ 1'
    async with (
        Socket.opened(server, admin.token) as first,
        Socket.opened(server, bea.token) as second,
        Socket.opened(server, admin.token) as third,
    ):
        for socket, op_id in ((first, "1"), (second, "1"), (third, odd_id)):
            await socket.send({"id": op_id, "type": "subscribe", "payload": {"query": BIG}})
        # When a small and a large (over 64 KiB once encoded) message arrive
        texts = ["hello ✓", "é" * 40_000]
        for text in texts:
            await app.receive("cust-1", text)

        async def raw(socket: Socket) -> list[str]:
            frames: list[str] = []
            while len(frames) < len(texts) + 1:
                data = await asyncio.wait_for(socket.connection.recv(), WAIT)
                assert isinstance(data, str)
                if json.loads(data)["type"] == "next":
                    frames.append(data)
            return frames

        ones, twos, odds = await raw(first), await raw(second), await raw(third)

    # Then each is a graphql-transport-ws `next` message; the same bytes for the same id,
    # and for another id the same bytes but for the id
    assert ones == twos
    parsed = [json.loads(frame) for frame in ones]
    assert [message["payload"]["data"]["inboxEvents"]["message"] for message in parsed[1:]] == [
        {"text": text} for text in texts
    ]
    assert all(message["id"] == "1" and message["type"] == "next" for message in parsed)
    assert [json.loads(frame)["id"] for frame in odds] == [odd_id] * len(odds)
    assert [frame.replace(json.dumps(odd_id), '"1"', 1) for frame in odds] == ones


class TestWideFanOut:
    @pytest.fixture
    def server_settings(self, server_settings: Settings) -> Settings:
        # Hundreds of replays on a shared machine: the render budget is not what is tested here.
        return replace(server_settings, subscription_render_budget_ms=30_000)

    async def test_every_subscriber_of_a_fan_out_wider_than_one_yield_gets_every_event_once_in_order(
        self, api: Api, server: Server
    ) -> None:
        # Given 300 subscriptions from the same cursor (more than the hub writes between two yields
        # to the loop) in two groups, one per socket, with operation id "1" as most clients number them,
        # each of which has got the first message (replayed or live)
        admin = await api.create_account()
        bea = await api.create_user(admin, "Bea Member")
        app = await api.install_api_app(admin, share_with=[bea])
        after = (await api.data("{ inboxEventCursor }", token=admin.token))["inboxEventCursor"]
        small = "subscription($after: String) { inboxEvents(after: $after) { type message { text } } }"
        async with AsyncExitStack() as stack:
            sockets = [
                await stack.enter_async_context(Socket.opened(server, (admin if number % 2 else bea).token))
                for number in range(300)
            ]
            ops = [
                await socket.subscribe(small if number % 3 else EVENTS, {"after": after})
                for number, socket in enumerate(sockets)
            ]
            await app.receive("cust-1", "first")
            firsts = await asyncio.gather(*(socket.events(op, 2) for socket, op in zip(sockets, ops, strict=True)))
            # When five more messages arrive, one after the other
            texts = [f"message {number}" for number in range(5)]
            for text in texts:
                await app.receive("cust-1", text)
            received = await asyncio.gather(
                *(socket.events(op, len(texts)) for socket, op in zip(sockets, ops, strict=True))
            )
            # (and one more: what comes next is it, not a copy of an earlier one)
            await app.receive("cust-1", "last")
            nexts = await asyncio.gather(*(socket.event(op) for socket, op in zip(sockets, ops, strict=True)))

        # Then every subscriber got each message once, in order
        assert [[event["type"] for event in events] for events in firsts] == [
            ["CONVERSATION_CREATED", "MESSAGE_RECEIVED"]
        ] * 300
        assert [[event["message"]["text"] for event in events] for events in received] == [texts] * 300
        assert [event["message"]["text"] for event in nexts] == ["last"] * 300
        assert ops == ["1"] * 300
