"""The providers' runtime in real server processes: the periodic template sync (R-TEMPLATE) of
`providers/runtime.py`, against the fake Twilio on the wire."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from providers.sandbox.twilio import FakeTwilio
from tests.conftest import POSTGRES_URL, require
from tests.processes import PostgresDatabase, command_env, create_acme, switchboard
from tests.provider_support import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER

INSTALL = "mutation($input: InstallMessagingAppInput!) { installMessagingApp(input: $input) { id } }"
TEMPLATES = "{ messagingApps { templatesSyncedAt templates { name status } } }"
WHATSAPP = {
    "provider": "TWILIO_WHATSAPP",
    "name": "WhatsApp",
    "credentials": {"accountSid": ACCOUNT_SID, "authToken": AUTH_TOKEN, "fromNumber": FROM_NUMBER},
}


@pytest.mark.postgres
async def test_r_template_two_server_processes_sync_an_app_once(tmp_path: Path) -> None:
    """Two `switchboard serve` processes on one PostgreSQL database both find the app due at start;
    the Content API is asked once (the second process finds the first one's lease)."""
    require(POSTGRES_URL, "SWITCHBOARD_TEST_POSTGRES_URL")
    twilio = FakeTwilio()
    twilio.add_account(ACCOUNT_SID, AUTH_TOKEN)
    twilio.add_content(ACCOUNT_SID, "quote_ready", "Hi {{1}}, your quote {{2}} is ready.")
    twilio.content_delay = 1.0  # the first process is still fetching when the second one looks
    await twilio.start()
    database = PostgresDatabase(POSTGRES_URL)
    await database.create()
    try:
        env = command_env(database.url, TWILIO_API_BASE_URL=twilio.url, SEND_RETRY_SECONDS="0")
        created = create_acme(env, tmp_path)
        headers = {"Authorization": f"Bearer {created['token']}"}
        # Given a WhatsApp app installed while no process syncs
        with switchboard("serve", env={**env, "TEMPLATE_SYNC_SECONDS": "0"}, cwd=tmp_path) as server:
            async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
                installed = await http.post("/graphql", json={"query": INSTALL, "variables": {"input": WHATSAPP}})
                assert installed.json()["data"]["installMessagingApp"]["id"]
        assert twilio.content_requests == []

        # When two processes that sync hourly start
        syncing = {**env, "TEMPLATE_SYNC_SECONDS": "3600"}
        with switchboard("serve", env=syncing, cwd=tmp_path) as first, switchboard("serve", env=syncing, cwd=tmp_path):
            async with httpx.AsyncClient(base_url=first.url, headers=headers) as http:
                for _ in range(100):  # until the fetch has ended and been stored
                    apps = (await http.post("/graphql", json={"query": TEMPLATES})).json()["data"]["messagingApps"]
                    if apps[0]["templatesSyncedAt"]:
                        break
                    await asyncio.sleep(0.1)
                await asyncio.sleep(1.5)  # a second fetch, had there been one, would have been asked by now

        # Then the app's templates were fetched once, by one of them
        assert apps[0]["templates"] == [{"name": "quote_ready", "status": "APPROVED"}]
        assert len(twilio.content_requests) == 1
    finally:
        await twilio.stop()
        await database.drop()
