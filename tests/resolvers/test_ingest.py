"""The committer (resolvers/ingest.py): a batch that fails is split, so one message the database
refuses fails only its own request and the others of its batch are stored."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterator

import pytest
from tortoise.exceptions import IntegrityError

from models import InboxEvent, InboxEventType, Message, MessagingApp
from resolvers.ids import pk_of
from resolvers.inbound_batch import Stored
from resolvers.ingest import receive
from resolvers.messages import InboundMessage
from settings import Settings, use_settings
from tests.support import Api


@pytest.fixture
def batches_of_five(test_settings: Settings) -> Iterator[None]:
    """A batch closes at five messages (on PostgreSQL; SQLite writes one at a time)."""
    use_settings(dataclasses.replace(test_settings, ingest_batch_size=5, ingest_batch_ms=10_000))
    yield
    use_settings(test_settings)


async def test_one_message_the_database_refuses_fails_only_its_own_request_and_the_others_are_stored(
    api: Api, db: str, batches_of_five: None, caplog: pytest.LogCaptureFixture
) -> None:
    # given an app, and a message for an app uninstalled while its webhook was in flight
    team = await api.create_team()
    app = await MessagingApp.get(id=pk_of("MessagingApp", team.app.id))
    good = [InboundMessage(app.id, f"m-{n}", f"contact-{n}", text="Hi", account_id=app.account_id) for n in range(4)]
    gone = InboundMessage(app.id + 1000, "m-gone", "contact-x", text="Hi", account_id=app.account_id)

    # when the five arrive at once, into one batch
    with caplog.at_level(logging.INFO, "resolvers.ingest"):
        outcomes = await asyncio.gather(
            *(receive(inbound) for inbound in [*good[:2], gone, *good[2:]]), return_exceptions=True
        )

    # then only the refused one fails, with the database's refusal (a webhook answers it 400), and
    # the four others are stored whole
    assert [type(outcome) for outcome in outcomes] == [Stored, Stored, IntegrityError, Stored, Stored]
    stored = Message.filter(app_id=app.id).order_by("provider_message_id").values_list("provider_message_id", flat=True)
    assert await stored == ["m-0", "m-1", "m-2", "m-3"]
    assert await InboxEvent.filter(app_id=app.id, type=InboxEventType.MESSAGE_RECEIVED).count() == 4
    assert not await Message.filter(provider_message_id="m-gone").exists()
    if db == "postgres":  # they were one batch, which failed whole and was written in parts
        assert any("a batch of 5 failed" in record.getMessage() for record in caplog.records)
