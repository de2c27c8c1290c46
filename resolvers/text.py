"""Text from outside: made storable (`clean`), and the checks every stored email address and link passes."""

from __future__ import annotations

import re
from typing import TypeVar, cast

from email_validator import EmailNotValidError, validate_email

from resolvers.errors import ValidationFailed

T = TypeVar("T")

REPLACEMENT = "\ufffd"
# NUL: PostgreSQL text cannot hold it. A surrogate code point in a Python str is always a lone half
# (json and GraphQL join valid pairs): UTF-8 cannot encode it. Nothing else is refused by a database.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_WEB_URL = re.compile(r"(?i)https?://")


def clean_text(text: str) -> str:
    """`text` with each NUL and lone surrogate replaced by U+FFFD: visible, never cut."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(REPLACEMENT, text)


def clean(value: T) -> T:
    """`value` with every string in it cleaned: a string, or the keys and values of parsed JSON or
    a form, at any depth. The one cleaning every input from outside goes through where it enters."""
    # Each string becomes a string and each container one of its own type: `value`'s type holds.
    return cast(T, _clean(value))


def _clean(value: object) -> object:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {_clean(key): _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_clean(item) for item in value)
    return value


def is_web_url(url: object) -> bool:
    """Only http(s) links are kept and shown: `javascript:`, `data:` or `file:` would run or read
    something in the team's browser. The prefix must be exact (no leading spaces, no tab inside)."""
    return isinstance(url, str) and _WEB_URL.match(url) is not None


def email_address(value: str, field: str = "email") -> str:
    """The address normalised (the domain lowercased), or VALIDATION_FAILED naming `field`.
    Syntax only (no DNS lookup); `.test` domains are allowed (demos and tests use them); the part
    before the @ must be ASCII (SMTPUTF8 is not something every relay speaks)."""
    try:
        checked = validate_email(value.strip(), allow_smtputf8=False, check_deliverability=False, test_environment=True)
    except EmailNotValidError as error:
        raise ValidationFailed(f"`{field}` is not a valid email address: {error}", field=field) from None
    return checked.normalized
