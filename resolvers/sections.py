"""R-SECTION: which conversations a viewer sees in each section, newest first, by keyset pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.functions import Count

from models import Contact, Conversation, ConversationLabel, ConversationStatus, User
from models.sql import fetch, joined_rows, select_list
from resolvers.access import visible_app_ids, visible_conversations, visible_conversations_sql
from resolvers.labels import account_label
from resolvers.pagination import decode_time_cursor, encode_cursor, page_size
from resolvers.viewer import Viewer


class Section(StrEnum):
    UNASSIGNED = "UNASSIGNED"
    ASSIGNED_TO_ME = "ASSIGNED_TO_ME"
    ASSIGNED_TO_OTHERS = "ASSIGNED_TO_OTHERS"
    CLOSED = "CLOSED"


def section_of(viewer: Viewer, conversation: Conversation) -> Section:
    if conversation.status == ConversationStatus.CLOSED:
        return Section.CLOSED
    if conversation.assignee_id is None:
        return Section.UNASSIGNED
    if viewer.is_me(conversation.assignee_id):
        return Section.ASSIGNED_TO_ME
    return Section.ASSIGNED_TO_OTHERS


def _section_filter(viewer: Viewer, section: Section) -> Q:
    if section == Section.CLOSED:
        return Q(status=ConversationStatus.CLOSED)
    if section == Section.UNASSIGNED:
        return Q(status=ConversationStatus.OPEN, assignee_id__isnull=True)
    if section == Section.ASSIGNED_TO_ME:
        return Q(status=ConversationStatus.OPEN, assignee_id=viewer.id)
    return Q(status=ConversationStatus.OPEN, assignee_id__isnull=False) & ~Q(assignee_id=viewer.id)


def conversation_cursor(conversation: Conversation) -> str:
    moment = conversation.last_message_at or conversation.created_at
    return encode_cursor(moment.isoformat(), conversation.id)


@dataclass
class ConversationPage:
    rows: list[Conversation]
    has_next: bool
    has_previous: bool


async def conversations_page(
    viewer: Viewer,
    section: Section,
    *,
    app_id: str | None = None,
    label_id: str | None = None,
    first: int | None = None,
    after: str | None = None,
) -> ConversationPage:
    size = page_size(first)
    app_ids = await visible_app_ids(viewer, app_id)
    label = (await account_label(viewer, label_id)).id if label_id is not None else None
    if not app_ids:
        return ConversationPage([], False, after is not None)
    statement, values = section_statement(viewer, section, app_ids, after=after, label=label, limit=size + 1)
    rows = joined_rows(Conversation, await fetch(statement, *values), {"contact": Contact, "assignee": User})
    return ConversationPage(rows[:size], len(rows) > size, after is not None)


def _labeled(label: int) -> Q:
    """R-LABEL's filter for the counts (the ORM's form of the semi-join in `section_statement`)."""
    return Q(id__in=Subquery(ConversationLabel.filter(label_id=label).values("conversation_id")))


def section_statement(
    viewer: Viewer,
    section: Section,
    app_ids: list[int],
    *,
    after: str | None = None,
    label: int | None = None,
    limit: int,
) -> tuple[str, list[Any]]:
    """A section's rows, newest first, with contact and assignee (`joined` reads them): one statement
    that the section's partial index serves in order (migration 0002), starting at the cursor, never
    with OFFSET. Written as SQL: on every page, the ORM's form costs more CPU than the database spends.
    `label` (a label's pk) keeps only the conversations that carry it (R-LABEL): a semi-join on
    conversation_label's unique (label, conversation) index, so the section keeps its own index,
    order and keyset cursor."""
    values: list[Any] = []

    def value(item: Any) -> str:
        values.append(item)
        return f"${len(values)}"

    where = [visible_conversations_sql(viewer, app_ids, "c", value), _section_sql(viewer, section, value)]
    if label is not None:
        where.append(
            f'c."id" IN (SELECT cl."conversation_id" FROM conversation_label cl WHERE cl."label_id" = {value(label)})'
        )
    if after:
        at, last_id = decode_time_cursor(after, Conversation)
        # `<= at` starts the index scan at the cursor (a seek, not a scan from the top); the OR settles ties.
        moment = value(at)
        where.append(
            f'c."last_message_at" <= {moment} AND (c."last_message_at" < {moment} OR c."id" < {value(last_id)})'
        )
    statement = (
        f"SELECT {select_list(Conversation, 'c')}, {select_list(Contact, 'ct', 'contact')},"
        f" {select_list(User, 'u', 'assignee')} FROM conversation c"
        ' LEFT OUTER JOIN contact ct ON ct."id" = c."contact_id" LEFT OUTER JOIN "user" u ON u."id" = c."assignee_id"'
        f' WHERE {" AND ".join(where)} ORDER BY c."last_message_at" DESC, c."id" DESC LIMIT {value(limit)}'
    )
    return statement, values


def _section_sql(viewer: Viewer, section: Section, value: Callable[[Any], str]) -> str:
    """`_section_filter` as SQL on the conversation aliased `c`; `value` places a parameter."""
    if section == Section.CLOSED:
        return f'c."status" = {value(ConversationStatus.CLOSED.value)}'
    opened = f'c."status" = {value(ConversationStatus.OPEN.value)}'
    if section == Section.UNASSIGNED:
        return f'{opened} AND c."assignee_id" IS NULL'
    if section == Section.ASSIGNED_TO_ME:
        return f'{opened} AND c."assignee_id" = {value(viewer.id)}'
    return f'{opened} AND c."assignee_id" IS NOT NULL AND c."assignee_id" <> {value(viewer.id)}'


async def section_total(
    viewer: Viewer, section: Section, *, app_id: str | None = None, label_id: str | None = None
) -> int:
    app_ids = await visible_app_ids(viewer, app_id)
    if not app_ids:
        return 0
    query = visible_conversations(viewer, app_ids).filter(_section_filter(viewer, section))
    if label_id is not None:
        query = query.filter(_labeled((await account_label(viewer, label_id)).id))
    return await query.count()


async def section_counts(viewer: Viewer, *, app_id: str | None = None) -> dict[Section, int]:
    """All four counts in one query."""
    counts = dict.fromkeys(Section, 0)
    app_ids = await visible_app_ids(viewer, app_id)
    if not app_ids:
        return counts
    rows = (
        await visible_conversations(viewer, app_ids)
        .annotate(n=Count("id"))
        .group_by("status", "assignee_id")
        .values("status", "assignee_id", "n")
    )
    for row in rows:
        if row["status"] == ConversationStatus.CLOSED:
            counts[Section.CLOSED] += row["n"]
        elif row["assignee_id"] is None:
            counts[Section.UNASSIGNED] += row["n"]
        elif row["assignee_id"] == viewer.id:
            counts[Section.ASSIGNED_TO_ME] += row["n"]
        else:
            counts[Section.ASSIGNED_TO_OTHERS] += row["n"]
    return counts
