"""Secrets: API tokens (random, shown once, stored as a SHA-256 hash) and password hashes."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_password_hasher = PasswordHasher()


def random_token(prefix: str, nbytes: int = 32) -> str:
    """A URL-safe random token carrying a recognisable prefix (`rcs_live_...`)."""
    return f"{prefix}{secrets.token_urlsafe(nbytes)}"


def token_hash(token: str) -> str:
    """API tokens carry 256 random bits, so a fast hash is safe; argon2 is for passwords."""
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def hash_password(password: str) -> str:
    return _password_hasher.hash(password)


class Passwords:
    """argon2 off the event loop. A hash or a verification costs tens of milliseconds of CPU
    by design; on the loop, a burst of log-ins stalls every request of the process. Here
    they run in a pool of `threads` threads of their own (argon2 releases the GIL), so at
    most that many run at once and the rest wait their turn without holding the loop."""

    def __init__(self, threads: int = 2, *, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or _password_hasher
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._verify, password_hash, password)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


# The pool of a context that was given none (tests) and of one-off callers (the CLI, the
# demo seed); a server builds its own, sized by its settings.
SHARED_PASSWORDS = Passwords()
