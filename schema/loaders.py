"""Request-scoped batch loaders: a page of rows costs one query per related kind, never one per row."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Sequence
from functools import cached_property
from typing import Any, Generic, TypeVar

from strawberry.dataloader import DataLoader
from strawberry.extensions import FieldExtension
from strawberry.types import Info
from tortoise.models import Model

import models
from models.rows import Row
from models.sql import rows_by_id

T = TypeVar("T")


def _by_id(model: type[Model]) -> DataLoader[int | None, Any]:
    """The row of each id, None for an unknown one; a null foreign key loads None too. Any, not
    `Model | None`: callers read their own model's fields, and most hold the row exists."""

    async def load(ids: Sequence[int | None]) -> list[Any]:
        wanted = {pk for pk in ids if pk is not None}
        rows = {row.pk: row for row in await rows_by_id(model, wanted)} if wanted else {}
        return [rows.get(pk) for pk in ids]

    return DataLoader(load_fn=load)


def _grouped(model: type[Model], key: str) -> DataLoader[int, list[Any]]:
    """Every row whose `key` is each given id, newest first: one query for a whole page."""

    async def load(ids: Sequence[int]) -> list[list[Any]]:
        groups: dict[int, list[Any]] = {pk: [] for pk in ids}
        for row in await model.filter(**{f"{key}__in": list(ids)}).order_by("-id"):
            groups[getattr(row, key)].append(row)
        return [groups[pk] for pk in ids]

    return DataLoader(load_fn=load)


def _mentioned_users() -> DataLoader[int, list[Any]]:
    """The users each comment mentions, in the order given (R-COMMENT): one query for a whole page."""

    async def load(ids: Sequence[int]) -> list[list[Any]]:
        groups: dict[int, list[Any]] = {pk: [] for pk in ids}
        for row in await models.MessageMention.filter(message_id__in=list(ids)).order_by("id").select_related("user"):
            groups[row.message_id].append(row.user)
        return [groups[pk] for pk in ids]

    return DataLoader(load_fn=load)


def _labels_of_conversations() -> DataLoader[int, list[Any]]:
    """Each conversation's labels, by name (R-LABEL): one query for a whole page."""

    async def load(ids: Sequence[int]) -> list[list[Any]]:
        groups: dict[int, list[Any]] = {pk: [] for pk in ids}
        rows = models.ConversationLabel.filter(conversation_id__in=list(ids)).select_related("label")
        for row in await rows.order_by("label__name", "label_id"):
            groups[row.conversation_id].append(row.label)
        return [groups[pk] for pk in ids]

    return DataLoader(load_fn=load)


class Loaders:
    """Each made on first use: a request reads a few of them (a DataLoader each, made per request)."""

    @cached_property
    def user(self) -> DataLoader[int | None, Any]:
        return _by_id(models.User)

    @cached_property
    def app(self) -> DataLoader[int | None, Any]:
        return _by_id(models.MessagingApp)

    @cached_property
    def contact(self) -> DataLoader[int | None, Any]:
        return _by_id(models.Contact)

    @cached_property
    def message(self) -> DataLoader[int | None, Any]:
        return _by_id(models.Message)

    @cached_property
    def conversation(self) -> DataLoader[int | None, Any]:
        return _by_id(models.Conversation)

    @cached_property
    def person(self) -> DataLoader[int | None, Any]:
        return _by_id(models.Person)

    @cached_property
    def lead(self) -> DataLoader[int | None, Any]:
        return _by_id(models.Lead)

    @cached_property
    def deal(self) -> DataLoader[int | None, Any]:
        return _by_id(models.Deal)

    @cached_property
    def person_notes(self) -> DataLoader[int, list[Any]]:
        return _grouped(models.Note, "person_id")

    @cached_property
    def lead_notes(self) -> DataLoader[int, list[Any]]:
        return _grouped(models.Note, "lead_id")

    @cached_property
    def deal_notes(self) -> DataLoader[int, list[Any]]:
        return _grouped(models.Note, "deal_id")

    @cached_property
    def conversation_links(self) -> DataLoader[int, list[Any]]:
        return _grouped(models.ConversationLink, "conversation_id")

    @cached_property
    def mentions(self) -> DataLoader[int, list[Any]]:
        return _mentioned_users()

    @cached_property
    def conversation_labels(self) -> DataLoader[int, list[Any]]:
        return _labels_of_conversations()

    @cached_property
    def template(self) -> DataLoader[int | None, Any]:
        return _by_id(models.MessageTemplate)

    @cached_property
    def app_templates(self) -> DataLoader[int, list[Any]]:
        return _grouped(models.MessageTemplate, "app_id")


class FreshLoaders(FieldExtension):
    """On each top-level mutation field: the mutation starts with empty loaders. Mutations of one
    document run one after another, and loaders cache for the whole request, so without this the
    second `linkConversation` of a document would return the links the first one read."""

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        info.context.loaders = Loaders()
        return next_(source, info, **kwargs)

    async def resolve_async(self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any) -> Any:
        info.context.loaders = Loaders()
        return await next_(source, info, **kwargs)


class Loading(Generic[T]):
    """`then` of the row of `key` in a request's loader; None when there is none. Awaitable, so
    graphql-core awaits it as any other value; the planner instead starts every Loading of a level
    at once and reads the loaders' answers in one pass: no coroutine, Task or wake-up per row."""

    __slots__ = ("key", "loader", "then")

    def __init__(self, loader: DataLoader[Any, Any], key: Any, then: Callable[[Any], T]) -> None:
        self.loader = loader
        self.key = key
        self.then = then

    def __await__(self) -> Generator[Any, None, T | None]:
        return self.settled(self.loader.load(self.key)).__await__()

    async def settled(self, pending: Awaitable[Any]) -> T | None:
        return self.finish(await pending)

    def finish(self, row: Any) -> T | None:
        return None if row is None else self.then(row)


def related(
    row: Model, name: str, loader: DataLoader[int | None, Any], wrap: Callable[[Any], T]
) -> T | Loading[T] | None:
    """`wrap` of the related row `name`: at once when the row's statement joined it (no task, no
    await per row on the hot path of a section page), else batched through `loader`."""
    joined = getattr(row, f"_{name}", None) if isinstance(row, Row) else row.__dict__.get(f"_{name}")
    if joined is not None:
        return wrap(joined)
    pk = getattr(row, f"{name}_id")
    return None if pk is None else Loading(loader, pk, wrap)
