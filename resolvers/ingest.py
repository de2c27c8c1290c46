"""Group commit for webhooks: what providers hand in once a webhook's signature is checked.

    stored = await receive(inbound)     # an inbound message (R-NEW, R-REOPEN, R-DELETE, R-IDEMPOTENT, …)
    known = await receive_status(update)  # a status callback (R-REPLY: forward only)

Each call joins the open batch of this process and returns once the transaction holding that batch
has COMMITTED, so a webhook is answered 200 only when what it brought is stored. A batch closes at
`INGEST_BATCH_SIZE` items or `INGEST_BATCH_MS` after its first; while `IN_FLIGHT` batches are being
written, new items wait and the next batch takes them all (up to the size): under load batches grow,
idle a lone webhook waits at most the few milliseconds. On PostgreSQL a batch is written set-based
(`resolvers/inbound_batch.py`); on SQLite, which writes one transaction at a time anyway, every batch
is one item through `resolvers/messages.receive_message`.

A batch that fails is split in halves, each tried on its own, down to single items, so one message
the database refuses fails only its own request. A single item is tried again when it lost a race
(`Contended`, a unique constraint, a deadlock); a database that cannot be reached fails the whole
batch at once (every webhook then answers 503 and the provider retries).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence

from tortoise.exceptions import DBConnectionError, IntegrityError

from models import MessagingApp
from models.sql import Dialect, dialect
from resolvers.delivery import StatusUpdate, apply_status, apply_status_in
from resolvers.events import change
from resolvers.inbound_batch import Contended, Stored, store_batch
from resolvers.loops import PerLoop
from resolvers.messages import InboundMessage, receive_message, validate_inbound
from settings import Settings, get_settings

log = logging.getLogger(__name__)

# Batches written at once by one process, each on its own connection. Two keep the database busy
# while the next batch fills; more only make each batch smaller (more statements per webhook).
IN_FLIGHT = 2
_ATTEMPTS = 3  # for a single item that lost a race

Item = InboundMessage | StatusUpdate
Outcome = Stored | bool


async def receive(inbound: InboundMessage) -> Stored:
    """Stores an inbound message once (validated first: `ValidationFailed` never enters a batch)."""
    validate_inbound(inbound)
    if inbound.account_id is None:
        account_id = (await MessagingApp.get(id=inbound.app_id)).account_id
        inbound = dataclasses.replace(inbound, account_id=account_id)
    outcome = await _committer().submit(inbound)
    assert isinstance(outcome, Stored)
    return outcome


async def receive_status(update: StatusUpdate) -> bool:
    """Applies a status callback; False when no such outbound message (yet)."""
    outcome = await _committer().submit(update)
    assert isinstance(outcome, bool)
    return outcome


_Pending = tuple[Item, "asyncio.Future[Outcome]"]


class Committer:
    """Collects items into batches and writes each batch in one transaction."""

    def __init__(self, settings: Settings, postgres: bool) -> None:
        self.settings = settings
        self.size = settings.ingest_batch_size if postgres else 1
        self.wait = settings.ingest_batch_ms / 1000
        self.postgres = postgres
        self.pending: list[_Pending] = []
        self.running = 0
        self.timer: asyncio.TimerHandle | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: Item) -> Outcome:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self.pending.append((item, future))
        if len(self.pending) >= self.size or self.wait <= 0:
            self._close_batch()
        elif self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(self.wait, self._close_batch)
        # shielded: a client that hangs up leaves its item in the batch, which commits for the others
        return await asyncio.shield(future)

    def _close_batch(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        while self.pending and self.running < IN_FLIGHT:
            batch, self.pending = self.pending[: self.size], self.pending[self.size :]
            self.running += 1
            task = asyncio.get_running_loop().create_task(self._run(batch), name="ingest-batch")
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _run(self, batch: list[_Pending]) -> None:
        try:
            await self._commit(batch)
        except BaseException as error:  # never leave a webhook waiting
            for _, future in batch:
                if not future.done():
                    future.set_exception(error if isinstance(error, Exception) else RuntimeError("batch cancelled"))
            raise
        finally:
            self.running -= 1
            if self.pending:  # they waited for a free slot: no need to wait for more
                self._close_batch()

    async def _commit(self, batch: list[_Pending]) -> None:
        for attempt in range(_ATTEMPTS):
            try:
                outcomes = await self._write([item for item, _ in batch])
            except (DBConnectionError, ConnectionError) as error:
                _fail(batch, error)  # nothing to split: every part would fail the same way
                return
            except Exception as error:
                if len(batch) > 1:
                    half = len(batch) // 2
                    log.info("ingest: a batch of %d failed (%s); writing it in halves", len(batch), error)
                    await self._commit(batch[:half])
                    await self._commit(batch[half:])
                    return
                if attempt < _ATTEMPTS - 1 and _lost_a_race(error):
                    continue
                _fail(batch, error)
                return
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)
            return

    async def _write(self, items: Sequence[Item]) -> list[Outcome]:
        if not self.postgres:
            return [await _write_one(item) for item in items]
        inbound = [(index, item) for index, item in enumerate(items) if isinstance(item, InboundMessage)]
        # status callbacks first, before the inbound messages take the event-order lock, and in key
        # order: two batches moving the same messages lock them in the same order
        statuses = sorted(
            ((index, item) for index, item in enumerate(items) if isinstance(item, StatusUpdate)),
            key=lambda pair: (pair[1].app_id, pair[1].provider_message_id or "", pair[1].message_pk or 0),
        )
        outcomes: dict[int, Outcome] = {}
        async with change() as c:
            for index, update in statuses:
                outcomes[index] = await apply_status_in(c, update)
            if inbound:
                stored = await store_batch(c, [message for _, message in inbound])
                outcomes.update(zip([index for index, _ in inbound], stored, strict=True))
        return [outcomes[index] for index in range(len(items))]


async def _write_one(item: Item) -> Outcome:
    if isinstance(item, StatusUpdate):
        return await apply_status(item)
    received = await receive_message(item)
    return Stored(received.message.id, received.duplicate, received.message.sender_name)


def _fail(batch: list[_Pending], error: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)


def _lost_a_race(error: Exception) -> bool:
    return isinstance(error, Contended | IntegrityError) or "deadlock" in str(error).lower()


_committers: PerLoop[Committer] = PerLoop()


def _committer() -> Committer:
    """This event loop's committer, made on first use with the settings and database of that moment."""
    committer = _committers.get()
    postgres, settings = dialect() == Dialect.POSTGRES, get_settings()
    if committer is None or committer.postgres != postgres or committer.settings is not settings:
        committer = _committers.set(Committer(settings, postgres))
    return committer
