"""Passwords (R-SIGNIN): their shape, and Argon2id hashing through argon2-cffi.

Hashing is deliberately slow, so it runs in a worker thread, never on the event loop. A sign-in for
an email nobody has is verified against a dummy hash: a wrong pair and an unknown email cost the
same work and get the same answer. `Hasher.verifications` counts the hashes computed (tests read it).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from resolvers.errors import ValidationFailed
from settings import get_settings

MIN_CHARACTERS = 10
# Argon2 accepts any length, but hashing a megabyte costs what an attacker wants it to: longer is refused first.
MAX_BYTES = 1024


def check_new_password(password: str, field: str = "newPassword") -> str:
    """A password one may set: 10 characters at least, 1,024 bytes (UTF-8) at most."""
    if len(password.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ValidationFailed(f"The password may have at most {MAX_BYTES} bytes.", field=field)
    if len(password) < MIN_CHARACTERS:
        raise ValidationFailed(f"The password must have at least {MIN_CHARACTERS} characters.", field=field)
    return password


def too_long(password: str) -> bool:
    return len(password.encode("utf-8", "surrogatepass")) > MAX_BYTES


@dataclass(frozen=True)
class Verdict:
    matches: bool
    rehashed: str | None = None  # the password hashed with today's parameters, when the stored hash is older


class Hasher:
    def __init__(self, time_cost: int, memory_kib: int) -> None:
        self._argon2 = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        self._dummy: str | None = None
        self.verifications = 0

    def _hash(self, password: str) -> str:
        return self._argon2.hash(password.encode("utf-8", "surrogatepass"))

    def _verify(self, stored: str | None, password: str) -> Verdict:
        if stored is None:  # no such user, or no password yet: the same work against a dummy hash
            if self._dummy is None:
                self._dummy = self._hash(secrets.token_urlsafe(16))
            stored, real = self._dummy, False
        else:
            real = True
        self.verifications += 1
        try:
            self._argon2.verify(stored, password.encode("utf-8", "surrogatepass"))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return Verdict(False)
        if not real:
            return Verdict(False)
        return Verdict(True, self._hash(password) if self._argon2.check_needs_rehash(stored) else None)

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hash, password)

    async def verify(self, stored: str | None, password: str) -> Verdict:
        return await asyncio.to_thread(self._verify, stored, password)


_hashers: dict[tuple[int, int], Hasher] = {}


def hasher() -> Hasher:
    """The hasher of the current settings (one per parameter set, so that a change rehashes)."""
    settings = get_settings()
    key = (settings.password_time_cost, settings.password_memory_kib)
    if key not in _hashers:
        _hashers[key] = Hasher(*key)
    return _hashers[key]
