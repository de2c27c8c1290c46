"""Provider credentials: their required shape, and encryption at rest with SECRET_KEY."""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from models import Provider
from resolvers.errors import ValidationFailed
from settings import get_settings

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
TWILIO_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
TWILIO_TOKEN = re.compile(r"^[0-9a-fA-F]{32}$")
DIGITS = re.compile(r"^\d{1,32}$")


def _http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def _text(value: str) -> bool:
    return 0 < len(value) <= 1024


# key -> (check, what it must be)
SHAPES: dict[Provider, dict[str, tuple[Callable[[str], object], str]]] = {
    Provider.TWILIO_WHATSAPP: {
        "accountSid": (TWILIO_SID.match, "AC followed by 32 hexadecimal digits"),
        "authToken": (TWILIO_TOKEN.match, "32 hexadecimal digits"),
        "fromNumber": (E164.match, "an E.164 number such as +14155238886"),
    },
    Provider.MESSENGER: {
        "pageId": (DIGITS.match, "the page's numeric id"),
        "pageAccessToken": (_text, "a non-empty token"),
        "appSecret": (_text, "a non-empty secret"),
        "verifyToken": (_text, "a non-empty token"),
    },
    Provider.API: {
        "secret": (lambda v: 16 <= len(v) <= 1024, "at least 16 characters"),
        "deliveryUrl": (_http_url, "an http(s) URL"),
    },
}


def validate_credentials(provider: Provider, credentials: Any) -> dict[str, str]:
    """The provider's keys, each well-formed; VALIDATION_FAILED names the first bad key."""
    if not isinstance(credentials, dict):
        raise ValidationFailed("credentials must be an object.", field="credentials")
    clean: dict[str, str] = {}
    for key, (check, shape) in SHAPES[provider].items():
        value = credentials.get(key)
        if not isinstance(value, str) or not check(value.strip()):
            raise ValidationFailed(
                f"credentials.{key} is missing or malformed: it must be {shape}.", field=f"credentials.{key}"
            )
        clean[key] = value.strip()
    return clean


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"switchboard credentials").derive(
        get_settings().secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_credentials(credentials: dict[str, str]) -> str:
    return _fernet().encrypt(json.dumps(credentials).encode()).decode()


def decrypt_credentials(ciphertext: str) -> dict[str, str]:
    """The credentials sealed in `ciphertext`. Every webhook asks: the key derivation and decryption
    are remembered per ciphertext (an app's new credentials are a new ciphertext)."""
    return dict(_decrypted(get_settings().secret_key, ciphertext))


@functools.lru_cache(maxsize=1024)
def _decrypted(secret_key: str, ciphertext: str) -> tuple[tuple[str, str], ...]:
    try:
        plaintext = _fernet().decrypt(ciphertext.encode())
    except InvalidToken:
        raise RuntimeError("Provider credentials cannot be decrypted: was SECRET_KEY changed?") from None
    credentials: dict[str, str] = json.loads(plaintext)  # written by encrypt_credentials
    return tuple(credentials.items())
