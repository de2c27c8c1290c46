"""The CRM's people, leads and deals: account-wide (R-TENANT), listed by keyset pages, searchable."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from tortoise.expressions import Q

from models import Deal, Lead, Person
from resolvers import clock
from resolvers.errors import NotFound, ValidationFailed
from resolvers.ids import pk_of
from resolvers.pagination import cursor_id, decode_cursor, encode_cursor, page_size
from resolvers.text import email_address
from resolvers.viewer import Viewer

MAX_NAME = 200
MAX_SEARCH = 200
_CURRENCY = re.compile(r"^[A-Z]{3}$")

Entity = TypeVar("Entity", Person, Lead, Deal)


@dataclass(frozen=True)
class NewPerson:
    name: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class NewLead:
    title: str
    person_id: str | None = None


@dataclass(frozen=True)
class NewDeal:
    title: str
    value: float | None = None
    currency: str | None = None
    person_id: str | None = None


def _required(value: str | None, field: str, limit: int = MAX_NAME) -> str:
    text = (value or "").strip()
    if not text or len(text) > limit:
        raise ValidationFailed(f"`{field}` must be 1 to {limit} characters.", field=field)
    return text


def _optional(value: str | None, field: str, limit: int) -> str | None:
    text = (value or "").strip()
    if len(text) > limit:
        raise ValidationFailed(f"`{field}` is longer than {limit} characters.", field=field)
    return text or None


async def create_person(viewer: Viewer, new: NewPerson) -> Person:
    email = _optional(new.email, "email", 320)
    return await Person.create(
        account_id=viewer.account_id,
        name=_required(new.name, "name"),
        phone=_optional(new.phone, "phone", 64),
        email=email_address(email) if email else None,
        created_at=clock.now(),
    )


async def create_lead(viewer: Viewer, new: NewLead) -> Lead:
    title = _required(new.title, "title")
    person = await account_person(viewer, new.person_id) if new.person_id else None
    return await Lead.create(account_id=viewer.account_id, title=title, person=person, created_at=clock.now())


async def create_deal(viewer: Viewer, new: NewDeal) -> Deal:
    title = _required(new.title, "title")
    if new.value is not None and not math.isfinite(new.value):
        raise ValidationFailed("`value` must be a finite number.", field="value")
    currency = _optional(new.currency, "currency", 3)
    if currency is not None:
        currency = currency.upper()
        if not _CURRENCY.match(currency):
            raise ValidationFailed("`currency` must be a three-letter ISO 4217 code.", field="currency")
    person = await account_person(viewer, new.person_id) if new.person_id else None
    return await Deal.create(
        account_id=viewer.account_id,
        title=title,
        value=new.value,
        currency=currency,
        person=person,
        created_at=clock.now(),
    )


async def _of_account(model: type[Entity], viewer: Viewer, api_id: str) -> Entity:
    row = await model.get_or_none(id=pk_of(model.__name__, api_id), account_id=viewer.account_id)
    if row is None:
        raise NotFound(f"No such {model.__name__.lower()}.")
    return row


async def account_person(viewer: Viewer, api_id: str) -> Person:
    return await _of_account(Person, viewer, api_id)


async def account_lead(viewer: Viewer, api_id: str) -> Lead:
    return await _of_account(Lead, viewer, api_id)


async def account_deal(viewer: Viewer, api_id: str) -> Deal:
    return await _of_account(Deal, viewer, api_id)


# ---- listing: ordered by name (persons) or title (leads, deals), then id; keyset cursors


@dataclass
class EntityPage(Generic[Entity]):
    rows: list[Entity]
    has_next: bool
    has_previous: bool


_ORDER = {Person: "name", Lead: "title", Deal: "title"}
_SEARCHED = {Person: ("name", "email", "phone"), Lead: ("title",), Deal: ("title",)}


def entity_cursor(row: Person | Lead | Deal) -> str:
    return encode_cursor(getattr(row, _ORDER[type(row)]), row.id)


async def entity_page(
    model: type[Entity],
    viewer: Viewer,
    *,
    search: str | None = None,
    first: int | None = None,
    after: str | None = None,
) -> EntityPage[Entity]:
    size = page_size(first)
    order = _ORDER[model]
    query = model.filter(account_id=viewer.account_id)
    term = (search or "").strip()
    if len(term) > MAX_SEARCH:
        raise ValidationFailed(f"`search` is longer than {MAX_SEARCH} characters.", field="search")
    if term:
        query = query.filter(Q(*(Q(**{f"{field}__icontains": term}) for field in _SEARCHED[model]), join_type="OR"))
    if after:
        key, last_id = decode_cursor(after, 2)
        if not isinstance(key, str):
            raise ValidationFailed("Malformed cursor.", field="after")
        last_id = cursor_id(last_id, model)
        query = query.filter(Q(**{f"{order}__gt": key}) | Q(**{order: key}, id__gt=last_id))
    rows = await query.order_by(order, "id").limit(size + 1)
    return EntityPage(rows[:size], len(rows) > size, after is not None)
