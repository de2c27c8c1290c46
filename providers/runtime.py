"""What the providers hold while the app runs: HTTP clients (made in the lifespan, closed on
shutdown), the channels installed for sendMessage, background work, and the send-retry loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

import httpx

from models import Provider
from providers.api_channel import ApiChannel
from providers.files import HttpMediaFetcher, make_file_store
from providers.messenger import MessengerChannel
from providers.twilio import TwilioChannel, TwilioHttpClient, TwilioTemplates
from resolvers.delivery import Channel, retry_due_sends, use_channels
from resolvers.files import copy_due_media, sweep_expired_files, use_file_store
from resolvers.templates import TemplateSource, sync_due_templates, use_template_sources
from settings import Settings

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
# How often the periodic template sync looks for apps due (each app is synced once per TEMPLATE_SYNC_SECONDS).
TEMPLATE_SYNC_LOOK_SECONDS = 60.0


class ProviderRuntime:
    def __init__(self, settings: Settings) -> None:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines would print Graph's access_token
        self.http = httpx.AsyncClient(timeout=TIMEOUT)
        self.twilio_http = TwilioHttpClient(settings.twilio_api_base_url, timeout=TIMEOUT)
        self.channels: dict[Provider, Channel] = {
            Provider.TWILIO_WHATSAPP: TwilioChannel(self.twilio_http, settings.public_base_url),
            Provider.MESSENGER: MessengerChannel(self.http, settings.graph_api_base_url, settings.graph_api_version),
            Provider.API: ApiChannel(self.http),
        }
        self.template_sources: dict[Provider, TemplateSource] = {
            Provider.TWILIO_WHATSAPP: TwilioTemplates(self.twilio_http)
        }
        self.files = make_file_store(settings)
        self.media = HttpMediaFetcher(self.http)
        self.retry_interval = settings.send_retry_seconds  # 0: no retry loop in this process
        self.template_sync_interval = settings.template_sync_seconds  # 0: no periodic sync in this process
        self.files_interval = settings.file_copy_seconds  # 0: no media copy nor sweep in this process
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        use_channels(self.channels)
        use_template_sources(self.template_sources)
        use_file_store(self.files, self.media)
        if self.retry_interval:
            self._loops.append(asyncio.create_task(self._retry_forever(self.retry_interval), name="send-retry"))
        if self.template_sync_interval:
            self._loops.append(
                asyncio.create_task(self._sync_templates_forever(self.template_sync_interval), name="template-sync")
            )
        if self.files_interval:
            self._loops.append(asyncio.create_task(self._files_forever(self.files_interval), name="media-copy"))

    async def close(self) -> None:
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        await self.drain()
        use_channels({})
        use_template_sources({})
        use_file_store(None)
        await self.files.close()
        await self.http.aclose()
        await self.twilio_http.close()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Runs `work` after the response, never failing it; errors are logged."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background provider work failed", exc_info=task.exception())

    async def drain(self) -> None:
        """Waits for the background work spawned so far (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _retry_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                while await retry_due_sends() > 0:
                    pass
            except Exception:
                log.exception("send retry pass failed; trying again in %ss", interval)

    async def _sync_templates_forever(self, interval: float) -> None:
        """R-TEMPLATE: every process looks often; each app is synced once per `interval`, by whichever
        process takes its lease first (resolvers/templates.py)."""
        every = timedelta(seconds=interval)
        while True:
            try:
                await sync_due_templates(every)
            except Exception:
                log.exception("template sync pass failed; trying again in %ss", interval)
            await asyncio.sleep(min(interval, TEMPLATE_SYNC_LOOK_SECONDS))

    async def _files_forever(self, interval: float) -> None:
        """R-MEDIA: copies inbound media after the webhooks answered, and removes expired files."""
        while True:
            await asyncio.sleep(interval)
            try:
                while await copy_due_media() > 0:
                    pass
                while await sweep_expired_files() > 0:
                    pass
            except Exception:
                log.exception("media copy pass failed; trying again in %ss", interval)
