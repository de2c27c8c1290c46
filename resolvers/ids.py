"""API ids: opaque, typed strings ("Conversation:42" in URL-safe base64) for every node."""

from __future__ import annotations

import base64
import binascii

from tortoise.models import Model

import models
from resolvers.errors import NotFound

# PostgreSQL's `integer`: the id column of every model that does not declare a wider one.
INTEGER_MAX = 2**31 - 1


def largest_id(model: type[Model] | None) -> int:
    """The largest value `model`'s id column holds: past it PostgreSQL refuses the parameter (and
    SQLite past 64 bits), so a larger number from a client names no row and never reaches the database."""
    return INTEGER_MAX if model is None else int(model._meta.pk.constraints["le"])


# The models by name, once: an id is parsed on every webhook and every node a client names.
_MODELS: dict[str, type[Model]] = {
    name: found
    for name in models.__all__
    if isinstance(found := getattr(models, name, None), type) and issubclass(found, Model)
}


def _model_named(type_name: str) -> type[Model] | None:
    return _MODELS.get(type_name)


_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def urlsafe_unpadded(raw: bytes) -> str:
    """URL-safe base64 without its padding (`base64.urlsafe_b64encode`'s bytes, in fewer calls): API
    ids and cursors, written for every row of a page."""
    return binascii.b2a_base64(raw, newline=False).translate(_URL_SAFE).rstrip(b"=").decode()


def to_api_id(type_name: str, pk: int) -> str:
    """ "Type:pk" as `urlsafe_unpadded` writes it."""
    return urlsafe_unpadded(f"{type_name}:{pk}".encode())


def parse_api_id(api_id: str) -> tuple[str, int]:
    """Returns (type name, primary key); anything unreadable is NOT_FOUND, as for a missing row."""
    try:
        padded = api_id + "=" * (-len(api_id) % 4)
        type_name, _, pk = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        number = int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise NotFound("No such object.") from None
    if not type_name or not 0 < number <= largest_id(_model_named(type_name)):
        raise NotFound("No such object.")
    return type_name, number


def pk_of(type_name: str, api_id: str) -> int:
    found_type, pk = parse_api_id(api_id)
    if found_type != type_name:
        raise NotFound(f"No such {type_name}.")
    return pk
