"""A short-lived, in-process cache of authenticated keys.

Looking a key up in the database on every request would cost more than the rest of a cheap
request. Live keys are remembered for `ttl` seconds (RCSGATE_KEY_CACHE_SECONDS), so a key
revoked in another process stops working within that time everywhere; a revocation made in
this process is forgotten at once (`forget_key`). Unknown tokens are never cached, so a flood
of bad tokens cannot fill memory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rcsgate.keys.service import Principal
from rcsgate.kit.cache import LocalCache
from rcsgate.kit.clock import Clock


class KeyCache:
    def __init__(self, clock: Clock, ttl_seconds: float) -> None:
        self._entries: LocalCache[str, Principal] = LocalCache(clock, ttl_seconds)

    @property
    def enabled(self) -> bool:
        return self._entries.enabled

    def get(self, token_hash: str) -> Principal | None:
        return self._entries.get(token_hash)

    async def get_or_load(
        self, token_hash: str, load: Callable[[], Awaitable[Principal | None]]
    ) -> tuple[Principal | None, bool]:
        """The cached principal, else `load()`'s, shared by concurrent misses; and whether
        this caller's `load` ran (`LocalCache.get_or_load`)."""
        return await self._entries.get_or_load(token_hash, load)

    def put(self, token_hash: str, principal: Principal) -> None:
        self._entries.put(token_hash, principal)

    def forget_key(self, key_id: str) -> None:
        self._entries.forget_where(lambda principal: principal.key_id == key_id)
