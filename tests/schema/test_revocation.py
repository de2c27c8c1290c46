"""Open WebSockets lose their rights when their token does (R-ADMIN): a deleted token, a demoted
admin and a deactivated user are closed with 4403, on every process, within a second or two.
Issue 15 brings the API that revokes and deactivates; here the rows are changed directly."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from websockets.exceptions import ConnectionClosed

from models import ApiToken, Role, User, UserStatus
from resolvers.ids import pk_of
from resolvers.viewer import digest, rights_changed
from settings import Settings
from subscriptions.hub import current_hub
from tests.processes import command_env, switchboard
from tests.realtime_support import LONG, SESSION_CHANNEL, RecheckOutOfTheWay, Server, Socket
from tests.schema.test_websocket import close_code_after_init
from tests.support import Api, Person, postgres_only

# The issue asks for "within a second"; the bound leaves room for a loaded test machine.
WITHIN = 3.0
CREATE_ADMIN = 'mutation($e: String!) { createUser(name: "New Admin", email: $e, role: ADMIN) { user { role } } }'


async def frames_until_closed(socket: Socket, within: float = WITHIN) -> tuple[list[dict[str, Any]], int]:
    """Every frame the server sends until it closes the socket, and the close code."""
    frames: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(within):
            while True:
                frames.append(json.loads(await socket.connection.recv()))
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "the client closed, not the server"
        return frames, closed.rcvd.code
    except TimeoutError:
        pytest.fail(f"the socket was still open {within} s later; it received {frames}")


async def answered(socket: Socket) -> str:
    """Runs an operation and waits for its answer: what closes the socket afterwards is not that
    operation's own re-read. Returns the viewer's name."""
    answer = await socket.message(await socket.subscribe("{ viewer { name } }"))
    return answer["payload"]["data"]["viewer"]["name"]


def answers(frames: list[dict[str, Any]], op: str) -> list[dict[str, Any]]:
    return [frame for frame in frames if frame.get("id") == op and frame["type"] in ("next", "error")]


async def delete_tokens(person: Person) -> None:
    await ApiToken.filter(digest=digest(person.token)).delete()


async def set_role(person: Person, role: Role) -> None:
    await User.filter(id=pk_of("User", person.id)).update(role=role)


async def deactivate(person: Person) -> None:
    await User.filter(id=pk_of("User", person.id)).update(status=UserStatus.DEACTIVATED)


async def test_a_socket_whose_token_is_deleted_is_closed_with_4403_within_a_second(api: Api, server: Server) -> None:
    admin = await api.create_account()
    bea = await api.create_user(admin, "Bea Member")
    app = await api.install_api_app(admin, share_with=[bea])
    async with Socket.opened(server, admin.token) as kept, Socket.opened(server, bea.token) as revoked:
        kept_op, revoked_op = await kept.subscribe(), await revoked.subscribe()
        await app.receive("cust-1", "before")
        assert [event["type"] for event in await revoked.events(revoked_op, 2)] == [
            "CONVERSATION_CREATED",
            "MESSAGE_RECEIVED",
        ]
        await kept.events(kept_op, 2)

        await delete_tokens(bea)
        frames, code = await frames_until_closed(revoked)
        await app.receive("cust-1", "after")
        still_served = await kept.event(kept_op)

    assert code == 4403
    assert answers(frames, revoked_op) == []
    assert still_served["message"]["text"] == "after"  # a socket whose rights did not change stays open
    assert await close_code_after_init(server, {"authorization": f"Bearer {bea.token}"}) == 4403


async def test_an_idle_socket_of_a_demoted_admin_is_closed_within_a_second(api: Api, server: Server) -> None:
    admin = await api.create_account()
    dora = await api.create_user(admin, "Dora Admin", role="ADMIN")
    async with Socket.opened(server, dora.token) as socket:
        await answered(socket)
        await set_role(dora, Role.MEMBER)
        _, code = await frames_until_closed(socket)

    assert code == 4403
    async with Socket.opened(server, dora.token) as again:  # reconnected: with the rights of a member
        refused = await again.message(await again.subscribe(CREATE_ADMIN, {"e": "eve@acme.test"}))
    assert refused["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_deactivated_user_is_closed_and_unauthenticated_over_http(api: Api, server: Server) -> None:
    admin = await api.create_account()
    bea = await api.create_user(admin, "Bea Member")
    async with Socket.opened(server, bea.token) as socket:
        await answered(socket)
        await deactivate(bea)
        _, code = await frames_until_closed(socket)

    assert code == 4403
    assert await api.error_code("{ viewer { id } }", token=bea.token) == "UNAUTHENTICATED"
    assert await close_code_after_init(server, {"authorization": f"Bearer {bea.token}"}) == 4403
    assert (await api.data("{ viewer { status } }", token=admin.token))["viewer"]["status"] == "ACTIVE"


async def test_a_subscription_misses_nothing_that_happens_while_its_token_is_reread(
    api: Api, server: Server, db: str, database: str
) -> None:
    url = postgres_only(db, database)
    admin = await api.create_account()
    app = await api.install_api_app(admin)
    hub = await current_hub()
    locker = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        async with Socket.opened(server, admin.token) as socket:
            # A first operation uses the read of `connection_init`; the subscription's is its own.
            await socket.message(await socket.subscribe("{ viewer { id } }"))
            async with locker.transaction():
                # The subscription's re-read of its token waits on this lock while events happen.
                await locker.execute("LOCK TABLE api_token IN ACCESS EXCLUSIVE MODE")
                op = await socket.subscribe()
                waiting = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                async with asyncio.timeout(10):
                    while await locker.fetchval(waiting) < 1:
                        await asyncio.sleep(0.01)  # polling for the re-read to queue, not waiting for time
                        await locker.execute("SELECT pg_stat_clear_snapshot()")
                    dispatched = hub.position
                    await app.receive("cust-1", "while the token is re-read")
                    while hub.position < dispatched + 2:  # noqa: ASYNC110  # the hub signals no position: polled
                        await asyncio.sleep(0.01)  # polling for the hub to have dispatched both events
            events = await socket.events(op, 2)
    finally:
        await locker.close()

    assert [event["type"] for event in events] == ["CONVERSATION_CREATED", "MESSAGE_RECEIVED"]


class TestEachOperationRereadsTheToken(RecheckOutOfTheWay):
    """The periodic re-check is out of the way: each operation finds out by itself."""

    async def test_a_demoted_admin_can_no_longer_create_admins_on_an_open_socket(
        self, api: Api, server: Server
    ) -> None:
        admin = await api.create_account()
        dora = await api.create_user(admin, "Dora Admin", role="ADMIN")
        async with Socket.opened(server, dora.token) as socket:
            created = await socket.message(await socket.subscribe(CREATE_ADMIN, {"e": "eve@acme.test"}))
            await set_role(dora, Role.MEMBER)
            refused_op = await socket.subscribe(CREATE_ADMIN, {"e": "fay@acme.test"})
            frames, code = await frames_until_closed(socket)

        assert created["payload"]["data"]["createUser"]["user"]["role"] == "ADMIN"
        assert code == 4403
        assert answers(frames, refused_op) == []
        assert not await User.filter(email="fay@acme.test").exists()

    async def test_an_operation_after_the_token_was_deleted_is_not_answered(self, api: Api, server: Server) -> None:
        admin = await api.create_account()
        bea = await api.create_user(admin, "Bea Member")
        async with Socket.opened(server, bea.token) as socket:
            await socket.message(await socket.subscribe("{ viewer { name } }"))
            await delete_tokens(bea)
            op = await socket.subscribe("{ viewer { name } }")
            frames, code = await frames_until_closed(socket)

        assert code == 4403
        assert answers(frames, op) == []


class TestChangedRightsAreAnnouncedThroughTheBroker(RecheckOutOfTheWay):
    """What the API of issue 15 will do after commit: `rights_changed` closes the sockets at once."""

    async def test_rights_changed_closes_the_users_sockets_at_once(self, api: Api, server: Server) -> None:
        admin = await api.create_account()
        bea = await api.create_user(admin, "Bea Member")
        async with Socket.opened(server, admin.token) as kept, Socket.opened(server, bea.token) as revoked:
            await answered(kept)
            await answered(revoked)
            await deactivate(bea)
            await rights_changed([pk_of("User", bea.id), pk_of("User", admin.id)])
            _, code = await frames_until_closed(revoked)
            still = await answered(kept)

        assert code == 4403
        assert still == admin.name


class TestAcrossProcesses:
    """Two real server processes on one database and one Redis: each closes its own sockets."""

    @pytest.fixture
    def broker_url(self, redis_url: str) -> str:
        return redis_url

    def other_env(self, database: str, redis_url: str, **extra: str) -> dict[str, str]:
        env = command_env(database, REDIS_URL=redis_url, REDIS_CHANNEL=SESSION_CHANNEL, **extra)
        env["SECRET_KEY"] = "test-secret-key"  # the key the app's credentials were encrypted with
        return env

    async def test_rows_changed_in_the_database_close_the_sockets_of_every_process(
        self, api: Api, server: Server, database: str, redis_url: str, tmp_path: Path
    ) -> None:
        admin = await api.create_account()
        bea = await api.create_user(admin, "Bea Member")
        dora = await api.create_user(admin, "Dora Admin", role="ADMIN")
        carol = await api.create_user(admin, "Carol Member")
        with switchboard("serve", env=self.other_env(database, redis_url), cwd=tmp_path) as process:
            other = Server(process.url.removeprefix("http://"))
            async with (
                Socket.opened(server, bea.token) as bea_here,
                Socket.opened(other, bea.token) as bea_there,
                Socket.opened(server, dora.token) as dora_here,
                Socket.opened(other, dora.token) as dora_there,
                Socket.opened(server, carol.token) as carol_here,
                Socket.opened(other, carol.token) as carol_there,
                Socket.opened(other, admin.token) as kept,
            ):
                sockets = [bea_here, bea_there, dora_here, dora_there, carol_here, carol_there]
                for socket in sockets:
                    await answered(socket)
                await delete_tokens(bea)
                await set_role(dora, Role.MEMBER)
                await deactivate(carol)
                closed = await asyncio.gather(*(frames_until_closed(socket) for socket in sockets))
                still = await answered(kept)

        assert [code for _, code in closed] == [4403] * 6
        assert still == admin.name

    async def test_rights_changed_on_one_process_closes_the_sockets_of_every_process_at_once(
        self, api: Api, server_settings: Settings, database: str, redis_url: str, tmp_path: Path
    ) -> None:
        from tests.realtime_support import serving

        admin = await api.create_account()
        dora = await api.create_user(admin, "Dora Admin", role="ADMIN")
        env = self.other_env(database, redis_url, WEBSOCKET_RECHECK_SECONDS=str(LONG))
        with switchboard("serve", env=env, cwd=tmp_path) as process:
            other = Server(process.url.removeprefix("http://"))
            async with (
                serving(replace(server_settings, websocket_recheck_seconds=LONG)) as here,
                Socket.opened(here, dora.token) as dora_here,
                Socket.opened(other, dora.token) as dora_there,
            ):
                for socket in (dora_here, dora_there):
                    await answered(socket)
                await set_role(dora, Role.MEMBER)
                await rights_changed([pk_of("User", dora.id)])  # published by this process's hub
                closed = await asyncio.gather(frames_until_closed(dora_here), frames_until_closed(dora_there))

        assert [code for _, code in closed] == [4403, 4403]
