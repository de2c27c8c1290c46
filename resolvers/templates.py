"""R-TEMPLATE: WhatsApp templates synced from the provider, and their placeholders filled in.

The provider is reached through a `TemplateSource` (the port; Twilio's Content API is the adapter in
providers/twilio.py). A sync claims its app with a lease on the app's row — one conditional UPDATE,
the same on SQLite and PostgreSQL — so two processes never fetch the same app's templates at once."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import MessageTemplate, MessagingApp, Provider, TemplateCategory, TemplateStatus
from resolvers import clock
from resolvers.access import account_app
from resolvers.credentials import decrypt_credentials
from resolvers.errors import NotFound, ProviderError, TemplateNotApproved, ValidationFailed
from resolvers.ids import pk_of
from resolvers.text import clean_text
from resolvers.viewer import Viewer

log = logging.getLogger(__name__)

# A sync holds its app this long; past it (a crashed process) another process may sync the app.
SYNC_LEASE = timedelta(minutes=5)
# How long an admin's sync waits for another process's sync of the same app to end.
WAIT_FOR_OTHER_SYNC_SECONDS = 30.0
# WhatsApp's placeholders: {{1}}, {{2}}, … (named ones, {{first_name}}, are allowed too).
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
MAX_VALUE = 1024
# WhatsApp refuses a parameter holding a newline or a tab, or more than four spaces in a row.
_NOT_PLAIN = re.compile(r"[\n\r\t]| {5,}")


@dataclass(frozen=True)
class UpstreamTemplate:
    """A template as the provider lists it, already mapped to our status and category."""

    external_id: str
    name: str
    language: str
    category: TemplateCategory | None
    status: TemplateStatus
    body: str


class TemplateSource(Protocol):
    """Every template of one provider account; a refusal raises ProviderError (providerCode)."""

    async def fetch(self, credentials: Mapping[str, str]) -> list[UpstreamTemplate]: ...


_sources: dict[Provider, TemplateSource] = {}


def use_template_sources(sources: Mapping[Provider, TemplateSource]) -> None:
    """Installed by the providers' runtime at start-up; empty when no process can reach a provider."""
    _sources.clear()
    _sources.update(sources)


def placeholders(body: str) -> list[str]:
    """The placeholder keys of `body`, each once, in the order they first appear."""
    return list(dict.fromkeys(match.group(1) for match in PLACEHOLDER.finditer(body)))


def render(body: str, values: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), body)


# ---- reading


async def app_templates(app: MessagingApp, status: TemplateStatus | None = None) -> list[MessageTemplate]:
    query = MessageTemplate.filter(app_id=app.id)
    if status is not None:
        query = query.filter(status=status)
    return await query.order_by("name", "language", "id")


async def usable_template(viewer: Viewer, app_id: int, template_id: str) -> MessageTemplate:
    """The app's template a client names (NOT_FOUND otherwise), APPROVED (else TEMPLATE_NOT_APPROVED)."""
    template = await MessageTemplate.get_or_none(
        id=pk_of("MessageTemplate", template_id), app_id=app_id, account_id=viewer.account_id
    )
    if template is None:
        raise NotFound("No such template on this app.")
    if template.status != TemplateStatus.APPROVED:
        raise TemplateNotApproved(
            f"The template {template.name!r} is {template.status.value}: only APPROVED templates can be sent.",
            status=template.status.value,
        )
    return template


def template_values(template: MessageTemplate, variables: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Every placeholder's value, as plain text: VALIDATION_FAILED names a missing, unknown or bad one."""
    values: dict[str, str] = {}
    for key, value in variables:
        if key in values:
            raise ValidationFailed(f"The placeholder {{{{{key}}}}} is given twice.", field="variables", variable=key)
        if key not in template.variables:
            raise ValidationFailed(
                f"The template has no placeholder {{{{{key}}}}}.", field="variables", variable=clean_text(key)
            )
        value = clean_text(value).strip()
        if not value:
            raise ValidationFailed(f"The placeholder {{{{{key}}}}} needs a value.", field="variables", variable=key)
        if len(value) > MAX_VALUE or _NOT_PLAIN.search(value):
            raise ValidationFailed(
                f"The value of {{{{{key}}}}} must be plain text on one line: at most {MAX_VALUE} characters, "
                "no tab, no more than four spaces in a row.",
                field="variables",
                variable=key,
            )
        values[key] = value
    for key in template.variables:
        if key not in values:
            raise ValidationFailed(f"The placeholder {{{{{key}}}}} needs a value.", field="variables", variable=key)
    return values


# ---- syncing


async def sync_message_templates(viewer: Viewer, app_id: str) -> list[MessageTemplate]:
    """ADMIN (R-SETTINGS): syncs the app now. If another process is syncing it, waits for that sync."""
    viewer.require_admin()
    app = await account_app(viewer, app_id)
    if app.provider != Provider.TWILIO_WHATSAPP:
        raise ValidationFailed("Only WhatsApp apps have message templates.", field="appId")
    if not await sync_app(app):
        await _wait_for_other_sync(app.id)
    return await app_templates(app)


async def _wait_for_other_sync(app_id: int) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_FOR_OTHER_SYNC_SECONDS
    while await MessagingApp.filter(id=app_id, templates_sync_lease__gt=clock.now()).exists():
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.05)


async def _claim(app_id: int) -> bool:
    """Takes the app's sync lease if nobody holds it: exactly one of concurrent claimers gets 1 row."""
    now = clock.now()
    free = Q(templates_sync_lease__isnull=True) | Q(templates_sync_lease__lte=now)
    return bool(await MessagingApp.filter(Q(id=app_id) & free).update(templates_sync_lease=now + SYNC_LEASE))


async def sync_app(app: MessagingApp) -> bool:
    """Fetches the app's templates and stores them; False when another process holds the app's lease.

    A template gone upstream becomes DISABLED (never deleted: messages keep their template). A
    provider's refusal releases the lease and raises ProviderError."""
    source = _sources.get(app.provider)
    if source is None:
        raise ProviderError("No provider connection in this process.", providerCode="UNAVAILABLE")
    if not await _claim(app.id):
        return False
    try:
        upstream = await source.fetch(decrypt_credentials(app.credentials_encrypted))
    except BaseException:
        await MessagingApp.filter(id=app.id).update(templates_sync_lease=None)
        raise
    await _store(app, upstream)
    return True


async def _store(app: MessagingApp, upstream: Sequence[UpstreamTemplate]) -> None:
    now = clock.now()
    async with in_transaction():
        stored = {row.external_id: row for row in await MessageTemplate.filter(app_id=app.id).select_for_update()}
        seen: set[str] = set()
        for item in upstream:
            if item.external_id in seen:
                continue
            seen.add(item.external_id)
            fields: dict[str, Any] = {
                "name": item.name,
                "language": item.language,
                "category": item.category,
                "status": item.status,
                "body": item.body,
                "variables": placeholders(item.body),
            }
            row = stored.get(item.external_id)
            if row is None:
                await MessageTemplate.create(
                    account_id=app.account_id, app_id=app.id, external_id=item.external_id, synced_at=now, **fields
                )
            else:
                row.update_from_dict({**fields, "synced_at": now})
                await row.save()
        gone = [row.id for key, row in stored.items() if key not in seen and row.status != TemplateStatus.DISABLED]
        if gone:
            await MessageTemplate.filter(id__in=gone).update(status=TemplateStatus.DISABLED, synced_at=now)
        await MessagingApp.filter(id=app.id).update(templates_synced_at=now, templates_sync_lease=None)
    app.templates_synced_at = now


async def sync_due_templates(every: timedelta) -> int:
    """One pass of the periodic sync: each WhatsApp app last synced `every` ago or more, by whichever
    process claims it first. Returns how many apps this process synced; a failing app is logged."""
    due_before = clock.now() - every
    apps = await MessagingApp.filter(
        Q(provider=Provider.TWILIO_WHATSAPP)
        & (Q(templates_synced_at__isnull=True) | Q(templates_synced_at__lte=due_before))
    ).order_by("id")
    synced = 0
    for app in apps:
        try:
            synced += await sync_app(app)
        except ProviderError as error:
            log.warning("templates of app %s: %s (%s)", app.id, error.message, error.extensions.get("providerCode"))
    return synced
