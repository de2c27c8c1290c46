"""API ids: opaque, typed strings ("Conversation:42" in URL-safe base64) for every node."""

from __future__ import annotations

import base64
import binascii

from resolvers.errors import NotFound


def to_api_id(type_name: str, pk: int) -> str:
    raw = f"{type_name}:{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_api_id(api_id: str) -> tuple[str, int]:
    """Returns (type name, primary key); anything unreadable is NOT_FOUND, as for a missing row."""
    try:
        padded = api_id + "=" * (-len(api_id) % 4)
        type_name, _, pk = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        number = int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise NotFound("No such object.") from None
    if not type_name or number <= 0 or number > 2**62:
        raise NotFound("No such object.")
    return type_name, number


def pk_of(type_name: str, api_id: str) -> int:
    found_type, pk = parse_api_id(api_id)
    if found_type != type_name:
        raise NotFound(f"No such {type_name}.")
    return pk
