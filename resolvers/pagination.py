"""Keyset cursors (never OFFSET) and the `first` bounds shared by every connection."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii  # C, as json.dumps uses
from typing import Any

from tortoise.models import Model

from resolvers.errors import ValidationFailed
from resolvers.ids import largest_id, urlsafe_unpadded

MAX_PAGE = 100


def page_size(first: int | None, default: int = 25) -> int:
    size = default if first is None else first
    if not 1 <= size <= MAX_PAGE:
        raise ValidationFailed(f"`first`/`last` must be between 1 and {MAX_PAGE}.", field="first")
    return size


# `json.dumps` with separators builds an encoder per call; a cursor is written for every row of a page.
_CURSOR_JSON = json.JSONEncoder(separators=(",", ":"))


def encode_cursor(*key: Any) -> str:
    """The key as compact JSON, `urlsafe_unpadded`; written for every row of a page, so a
    (string, integer) key, the most common, is written by hand as `_CURSOR_JSON` writes it."""
    if len(key) == 2 and type(key[0]) is str and type(key[1]) is int:
        text = f"[{encode_basestring_ascii(key[0])},{int.__repr__(key[1])}]"
    else:
        text = _CURSOR_JSON.encode(key)
    return urlsafe_unpadded(text.encode())


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise ValidationFailed("Malformed cursor.", field="after") from None
    if not isinstance(key, list) or len(key) != arity:
        raise ValidationFailed("Malformed cursor.", field="after")
    return key


def cursor_id(value: Any, model: type[Model], field: str = "after") -> int:
    """A row id read from a cursor: an integer in the range of `model`'s id column, else
    VALIDATION_FAILED (a cursor never holds another number, and PostgreSQL raises past the range)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= largest_id(model):
        raise ValidationFailed("Malformed cursor.", field=field)
    return value


def decode_time_cursor(cursor: str, model: type[Model]) -> tuple[datetime, int]:
    """A (time, id) keyset cursor, as written by `encode_cursor(time.isoformat(), id)`."""
    moment, pk = decode_cursor(cursor, 2)
    try:
        at = datetime.fromisoformat(moment)
        at.astimezone(UTC)  # a time near year 1 or 9999 whose offset takes it out of range raises here
    except (TypeError, ValueError, OverflowError):
        raise ValidationFailed("Malformed cursor.", field="after") from None
    if at.tzinfo is None:
        raise ValidationFailed("Malformed cursor.", field="after")
    return at, cursor_id(pk, model)
