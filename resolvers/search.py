"""R-SEARCH: full-text search over message text, contact names and phone digits, in the
conversations the viewer can see, best match first, by keyset pages.

A hit is a conversation. Its rank has two tiers, then recency:

1. the contact matches — every word of the query is in its name, or the query's digits are in its
   phone number (`external_id`); newest conversation first (its last message's id);
2. otherwise a message matches — every word of the query is a word of the text (whole words,
   any case, accents ignored); the hit shows
   the conversation's newest matching message, and the newest such message ranks first.

Ties fall to the conversation's id, so the order is total and a cursor `(tier, key, id)` resumes it
exactly. Each page costs at most two search statements (a page may straddle the tiers) and two
loads; nothing per row. The query is reduced to its words before it reaches the database, so
FTS syntax (quotes, `*`, `NEAR`, `-`, parentheses) is only ever text.

Deleted history is never found: a deleted conversation is skipped (`deleted_at`), and its messages
are tombstones without a conversation or text (R-DELETE), outside the index on both databases.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from models import Conversation, Message, sql
from models.sql import Dialect, dialect, fetch
from resolvers.access import visible_app_ids, visible_conversations, visible_messages
from resolvers.errors import ValidationFailed
from resolvers.pagination import cursor_id, decode_cursor, encode_cursor, page_size
from resolvers.viewer import Viewer

MAX_QUERY_LENGTH = 200
MAX_WORDS = 8
MIN_PHONE_DIGITS = 3
SNIPPET_LENGTH = 160

CONTACT_TIER = 2
MESSAGE_TIER = 1

_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower case without accents, as `sb_unaccent` and `to_tsvector` see a word (migration 0012)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _fold_in_place(text: str) -> str:
    """`fold` one character at a time, each to one character, so positions survive (for highlighting)."""
    return "".join((fold(char) or char)[:1] for char in text)


@dataclass(frozen=True)
class Query:
    """A search query reduced to what it means: its words (folded) and its digits."""

    words: tuple[str, ...]
    digits: str

    @classmethod
    def parse(cls, text: str) -> Query:
        if len(text) > MAX_QUERY_LENGTH:
            raise ValidationFailed(f"A search is at most {MAX_QUERY_LENGTH} characters.", field="query")
        words = tuple(dict.fromkeys(_WORD.findall(fold(text))))
        if not words:
            raise ValidationFailed("Search for at least one letter or digit.", field="query")
        if len(words) > MAX_WORDS:
            raise ValidationFailed(f"A search is at most {MAX_WORDS} words.", field="query")
        digits = "".join(c for c in text if c.isascii() and c.isdigit())
        return cls(words, digits if len(digits) >= MIN_PHONE_DIGITS else "")


@dataclass
class Hit:
    conversation: Conversation
    message: Message | None
    highlight: str | None
    cursor: str


@dataclass
class SearchPage:
    rows: list[Hit]
    has_next: bool
    has_previous: bool


def _fts_query(query: Query) -> str:
    """The words as a query of the database's own syntax, all required. Words hold only letters and
    digits, so nothing in them can be syntax."""
    if dialect() == Dialect.POSTGRES:
        return " & ".join(query.words)
    return " ".join(query.words)  # FTS5 barewords; its operators (AND, OR, NOT, NEAR) are upper case only


def _search(viewer: Viewer, app_ids: list[int], query: Query) -> sql.Search:
    return sql.Search(
        account_id=viewer.account_id,
        app_ids=app_ids,
        name_patterns=[f"%{word}%" for word in query.words],
        phone_pattern=f"%{query.digits}%" if query.digits else None,
        fts_query=_fts_query(query),
    )


def _decode(after: str) -> tuple[int, int, int]:
    tier, key, conversation = decode_cursor(after, 3)
    if tier not in (CONTACT_TIER, MESSAGE_TIER):
        raise ValidationFailed("Malformed cursor.", field="after")
    return tier, cursor_id(key, Message), cursor_id(conversation, Conversation)


async def search_conversations(
    viewer: Viewer, text: str, *, first: int | None = None, after: str | None = None
) -> SearchPage:
    size = page_size(first)
    query = Query.parse(text)
    start = _decode(after) if after else None
    app_ids = await visible_app_ids(viewer)
    if not app_ids:
        return SearchPage([], False, after is not None)
    found: list[tuple[int, int, int, int | None]] = []  # tier, sort key, conversation, message
    search = _search(viewer, app_ids, query)
    if start is None or start[0] == CONTACT_TIER:
        resume = (start[1], start[2]) if start else None
        rows = await fetch(search.contact_hits(resume, size + 1))
        found += [(CONTACT_TIER, row["sort_key"], row["conversation_id"], None) for row in rows]
    if len(found) <= size:
        before = start[1] if start and start[0] == MESSAGE_TIER else None
        rows = await fetch(search.message_hits(before, size + 1 - len(found)))
        found += [(MESSAGE_TIER, row["message_id"], row["conversation_id"], row["message_id"]) for row in rows]
    page = found[:size]
    # Loaded through the visibility rule again: a conversation deleted between the two reads is left out.
    found_conversations = visible_conversations(viewer, app_ids).filter(id__in=[hit[2] for hit in page])
    conversations = {row.id: row for row in await found_conversations.select_related("contact")}
    message_ids = [hit[3] for hit in page if hit[3] is not None]
    messages = (
        {row.id: row for row in await visible_messages(viewer, app_ids).filter(id__in=message_ids)}
        if message_ids
        else {}
    )
    hits = []
    for tier, key, conversation_id, message_id in page:
        conversation = conversations.get(conversation_id)
        message = messages.get(message_id) if message_id is not None else None
        if conversation is None or (message_id is not None and message is None):
            continue
        hits.append(
            Hit(
                conversation=conversation,
                message=message,
                highlight=_highlight_hit(query, conversation, message),
                cursor=encode_cursor(tier, key, conversation_id),
            )
        )
    return SearchPage(hits, len(found) > size, after is not None)


def _highlight_hit(query: Query, conversation: Conversation, message: Message | None) -> str | None:
    if message is not None:
        return highlight(message.text or "", query.words, whole_words=True)
    contact = conversation.contact
    if contact.name and all(word in fold(contact.name) for word in query.words):
        return highlight(contact.name, query.words, whole_words=False)
    return highlight_digits(contact.external_id, query.digits)


def highlight(text: str, words: Sequence[str], *, whole_words: bool) -> str:
    """`text` HTML-escaped with each match of `words` in <mark>: with `whole_words`, the words of the
    text equal to one of them (as the full-text match does); else any occurrence (as a name matches).
    Long text is cut to a snippet around the first match."""
    spans: list[tuple[int, int]] = []
    if whole_words:
        spans = [found.span() for found in _WORD.finditer(text) if fold(found.group()) in words]
    else:
        folded = _fold_in_place(text)
        for word in words:
            spans += [(m.start(), m.start() + len(word)) for m in re.finditer(re.escape(word), folded)]
    return _marked(text, _merged(spans))


def highlight_digits(text: str, digits: str) -> str:
    """A phone number with the run of characters holding `digits` marked (separators may sit between)."""
    positions = [i for i, c in enumerate(text) if c.isascii() and c.isdigit()]
    only = "".join(text[i] for i in positions)
    at = only.find(digits) if digits else -1
    if at < 0:
        return html.escape(text)
    return _marked(text, [(positions[at], positions[at + len(digits) - 1] + 1)])


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _marked(text: str, spans: list[tuple[int, int]]) -> str:
    begin, end = 0, len(text)
    if len(text) > SNIPPET_LENGTH:
        first = spans[0][0] if spans else 0
        begin = max(0, min(first - SNIPPET_LENGTH // 4, len(text) - SNIPPET_LENGTH))
        end = begin + SNIPPET_LENGTH
        # cut between words where the snippet's edges fall inside one
        space = text.find(" ", begin, first) if begin else -1
        begin = space + 1 if space != -1 else begin
        space = text.rfind(" ", first + 1, end) if end < len(text) else -1
        end = space if space != -1 else end
    out = ["…" if begin else ""]
    at = begin
    for start, stop in spans:
        start, stop = max(start, begin), min(stop, end)
        if start >= stop:
            continue
        out += [html.escape(text[at:start]), "<mark>", html.escape(text[start:stop]), "</mark>"]
        at = stop
    out.append(html.escape(text[at:end]))
    out.append("…" if end < len(text) else "")
    return "".join(out)
