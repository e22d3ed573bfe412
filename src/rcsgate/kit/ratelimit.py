"""Per-key request rate limits over a moving one-second window (the `limits` library).

In-process storage when no Redis is configured; with Redis, every server process shares the
same window, so an account's limit holds across all of them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: float  # seconds until a slot frees up

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(max(0, math.ceil(self.reset_after))),
        }

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_after))


class RateLimiter:
    def __init__(self, redis_url: str | None = None, *, namespace: str = "rcsgate") -> None:
        self._storage = _redis_storage(redis_url, namespace) if redis_url else MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._items: dict[tuple[int, int], RateLimitItemPerSecond] = {}

    def _item(self, amount: int, seconds: int) -> RateLimitItemPerSecond:
        item = self._items.get((amount, seconds))
        if item is None:
            item = RateLimitItemPerSecond(amount, seconds)
            self._items[amount, seconds] = item
        return item

    async def hit(self, key: str, per_second: int) -> Decision:
        item = self._item(per_second, 1)
        allowed = await self._limiter.hit(item, key)
        stats = await self._limiter.get_window_stats(item, key)
        return Decision(
            allowed=allowed,
            limit=per_second,
            remaining=stats.remaining,
            reset_after=max(0.0, stats.reset_time - time.time()),
        )

    async def attempt(self, key: str, amount: int, seconds: int) -> bool:
        """Counts one hit on `key` unless `amount` were counted in the last `seconds`; whether
        it was counted. The count and the check are one step (a lock in memory, a script in
        Redis), so of many attempts at once at most `amount` pass: an expensive act (a
        password check, a sign-up) is counted before it is done, never after."""
        return await self._limiter.hit(self._item(amount, seconds), key)

    async def forget(self, key: str, amount: int, seconds: int) -> None:
        """Drops every hit counted on `key` (a log-in that succeeded)."""
        await self._limiter.clear(self._item(amount, seconds), key)

    async def reset(self) -> None:
        await self._storage.reset()


def _redis_storage(redis_url: str, namespace: str) -> Storage:
    storage = storage_from_string(_async_uri(redis_url), key_prefix=namespace)
    assert isinstance(storage, Storage), "an async+ URI always gives async storage"
    return storage


def _async_uri(redis_url: str) -> str:
    return redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
