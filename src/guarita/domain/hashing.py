"""Password hashes: argon2id for everything new, legacy verifiers that rehash on login.

SECURITY.md › Passwords: argon2id m=19456 KiB, t=2, p=1 (OWASP Password Storage Cheat Sheet).
Legacy formats from the old portal (DESIGN.md › Beneficiary CSV) are verified as they are and
replaced by argon2id at the next successful sign-in:

- ``$2a$`` / ``$2b$`` / ``$2y$`` bcrypt (cost ≥ 10 accepted);
- ``pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`` (Django);
- ``$argon2id$…`` with other parameters.

Hashing runs on a bounded thread pool (argon2-cffi and bcrypt release the GIL), so a burst of
sign-ins never blocks the event loop and never runs more hashes at once than there are cores.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum

import bcrypt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Algorithm(StrEnum):
    ARGON2ID = "argon2id"
    BCRYPT = "bcrypt"
    PBKDF2_SHA256 = "pbkdf2_sha256"


class UnsupportedHash(ValueError):
    """A stored hash in no format Guarita knows (rejected at import)."""


def algorithm_of(stored: str) -> Algorithm:
    if stored.startswith("$argon2id$"):
        return Algorithm.ARGON2ID
    if stored.startswith(("$2a$", "$2b$", "$2y$")):
        parts = stored.split("$")
        if len(parts) != 4 or not parts[2].isdigit() or int(parts[2]) < 10 or len(parts[3]) != 53:
            raise UnsupportedHash("bcrypt com custo menor que 10 ou formato inválido")
        return Algorithm.BCRYPT
    if stored.startswith("pbkdf2_sha256$"):
        parts = stored.split("$")
        if len(parts) != 4 or not parts[1].isdigit() or int(parts[1]) < 10000:
            raise UnsupportedHash("pbkdf2_sha256 com iterações insuficientes ou formato inválido")
        return Algorithm.PBKDF2_SHA256
    raise UnsupportedHash("formato de hash de senha desconhecido")


@dataclass(frozen=True)
class Argon2Parameters:
    memory_kib: int = 19456
    time_cost: int = 2
    parallelism: int = 1


class Hasher:
    def __init__(self, params: Argon2Parameters | None = None, max_workers: int | None = None):
        self.params = params or Argon2Parameters()
        self._argon2 = PasswordHasher(
            time_cost=self.params.time_cost,
            memory_cost=self.params.memory_kib,
            parallelism=self.params.parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._pool = ThreadPoolExecutor(
            max_workers=max_workers or usable_cores(), thread_name_prefix="hasher"
        )
        # Verified against when the account does not exist, so both answers cost one argon2id.
        self._dummy = self._argon2.hash(secrets.token_urlsafe(24))

    # -- synchronous core -------------------------------------------------------------------
    def hash_sync(self, password: str) -> str:
        return self._argon2.hash(password)

    def verify_sync(self, stored: str | None, password: str) -> bool:
        if stored is None:
            self._verify_argon2(self._dummy, password)
            return False
        try:
            algorithm = algorithm_of(stored)
        except UnsupportedHash:
            self._verify_argon2(self._dummy, password)
            return False
        if algorithm is Algorithm.ARGON2ID:
            return self._verify_argon2(stored, password)
        if algorithm is Algorithm.BCRYPT:
            # bcrypt only ever looked at the first 72 bytes; the legacy portal did the same.
            return bcrypt.checkpw(password.encode()[:72], stored.encode())
        return _verify_pbkdf2(stored, password)

    def needs_rehash(self, stored: str) -> bool:
        try:
            if algorithm_of(stored) is not Algorithm.ARGON2ID:
                return True
        except UnsupportedHash:
            return True
        return self._argon2.check_needs_rehash(stored)

    def _verify_argon2(self, stored: str, password: str) -> bool:
        try:
            return self._argon2.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    # -- off the event loop -----------------------------------------------------------------
    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.hash_sync, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self.verify_sync, stored, password
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def usable_cores() -> int:
    """Cores this process may run on (``taskset``, cgroups' cpusets), not the machine's."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _verify_pbkdf2(stored: str, password: str) -> bool:
    _, iterations, salt, expected = stored.split("$", 3)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(iterations))
    return hmac.compare_digest(base64.b64encode(digest).decode(), expected)


def make_pbkdf2_sha256(password: str, salt: str | None = None, iterations: int = 600_000) -> str:
    """Django's format; used by tests and the demo to produce legacy hashes."""
    salt = salt or secrets.token_hex(11)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"
