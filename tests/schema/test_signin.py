"""R-SIGNIN on open WebSockets: revoking a token, or signing out, closes every socket using it with
4403 at once (through the broker, not the periodic re-check), on every process."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from resolvers.clock import ManualClock
from settings import Settings
from tests.processes import command_env, switchboard
from tests.realtime_support import LONG, SESSION_CHANNEL, RecheckOutOfTheWay, Server, Socket
from tests.resolvers.test_signin import ANA, PASSWORD, SIGN_IN, ana_with_password
from tests.schema.test_revocation import answered, frames_until_closed
from tests.schema.test_websocket import close_code_after_init
from tests.support import Api

TOKENS = "{ viewerTokens { id current } }"
REVOKE = "mutation($id: ID!) { revokeToken(id: $id) }"


async def token_id(api: Api, token: str) -> str:
    return next(t["id"] for t in (await api.data(TOKENS, token=token))["viewerTokens"] if t["current"])


async def signed_in_session(api: Api) -> str:
    """A new account's admin, signed in with a password: the session's token."""
    await ana_with_password(api)
    token: str = (await api.data(SIGN_IN, {"e": ANA, "p": PASSWORD}))["signIn"]["token"]
    return token


class TestRevokedTokensCloseTheirSockets(RecheckOutOfTheWay):
    async def test_r_signin_a_revoked_token_closes_its_open_socket_with_4403(self, api: Api, server: Server) -> None:
        # given Bea's socket open, and another of hers on another token
        ana = await api.create_account()
        bea = await api.create_user(ana, "Bea Member")
        spare = (await api.data('mutation { createApiToken(name: "spare") { token } }', token=bea.token))[
            "createApiToken"
        ]["token"]
        async with Socket.opened(server, bea.token) as revoked, Socket.opened(server, spare) as kept:
            await answered(revoked)
            await answered(kept)

            # when her admin revokes the first token
            await api.data(REVOKE, {"id": await token_id(api, bea.token)}, token=ana.token)

            # then that socket is closed with 4403, the other stays open
            _, code = await frames_until_closed(revoked)
            assert await answered(kept) == "Bea Member"

        assert code == 4403
        assert await close_code_after_init(server, {"authorization": f"Bearer {bea.token}"}) == 4403

    async def test_r_signin_signing_out_closes_the_sessions_socket(self, api: Api, server: Server) -> None:
        session = await signed_in_session(api)
        async with Socket.opened(server, session) as socket:
            await answered(socket)
            async with httpx.AsyncClient() as client:
                signed_out = await client.post(
                    server.http_url + "/graphql",
                    json={"query": "mutation { signOut }"},
                    headers={"Authorization": f"Bearer {session}"},
                )
            _, code = await frames_until_closed(socket)

        assert signed_out.json() == {"data": {"signOut": True}}
        assert code == 4403


class TestAcrossProcesses:
    @pytest.fixture
    def broker_url(self, redis_url: str) -> str:
        return redis_url

    async def test_r_signin_a_token_revoked_on_one_process_closes_its_socket_on_another(
        self, api: Api, server_settings: Settings, database: str, redis_url: str, tmp_path: Path
    ) -> None:
        from tests.realtime_support import serving

        ana = await api.create_account()
        bea = await api.create_user(ana, "Bea Member")
        env = command_env(
            database, REDIS_URL=redis_url, REDIS_CHANNEL=SESSION_CHANNEL, WEBSOCKET_RECHECK_SECONDS=str(LONG)
        )
        env["SECRET_KEY"] = "test-secret-key"
        with switchboard("serve", env=env, cwd=tmp_path) as process:
            other = Server(process.url.removeprefix("http://"))
            async with (
                serving(replace(server_settings, websocket_recheck_seconds=LONG)) as here,
                Socket.opened(here, bea.token) as bea_here,
                Socket.opened(other, bea.token) as bea_there,
            ):
                for socket in (bea_here, bea_there):
                    await answered(socket)
                await api.data(REVOKE, {"id": await token_id(api, bea.token)}, token=ana.token)
                closed = await asyncio.gather(frames_until_closed(bea_here), frames_until_closed(bea_there))

        assert [code for _, code in closed] == [4403, 4403]


async def test_r_signin_an_expired_sessions_socket_is_closed_at_the_next_recheck(
    api: Api, server: Server, clock: ManualClock, test_settings: Settings
) -> None:
    session = await signed_in_session(api)
    async with Socket.opened(server, session) as socket:
        await answered(socket)

        clock.advance(days=test_settings.session_days, seconds=1)

        _, code = await frames_until_closed(socket)
    assert code == 4403
