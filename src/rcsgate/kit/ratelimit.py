"""Per-key request rate limits over a moving one-second window (the `limits` library).

In-process storage when no Redis is configured; with Redis, every server process shares the
same window, so an account's limit holds across all of them. While Redis does not answer
(`kit.outage`), each process counts in-process instead and allows its share of every limit:
the limit divided by `processes` (RCSGATE_PROCESS_COUNT, the server processes behind the
same Redis), at least one. The whole still stays within the limit, and nothing is refused
or failed because Redis is down.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from rcsgate.kit.clock import Clock, SystemClock
from rcsgate.kit.outage import RedisOutage, redis_pool

T = TypeVar("T")


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
    def __init__(
        self,
        redis_url: str | None = None,
        *,
        namespace: str = "rcsgate",
        clock: Clock | None = None,
        processes: int = 1,
    ) -> None:
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._shared = (
            MovingWindowRateLimiter(_redis_storage(redis_url, namespace)) if redis_url else None
        )
        self._processes = max(1, processes)
        self.outage = RedisOutage("rate_limit", clock or SystemClock())
        self._items: dict[tuple[int, int], RateLimitItemPerSecond] = {}

    def _item(self, amount: int, seconds: int) -> RateLimitItemPerSecond:
        item = self._items.get((amount, seconds))
        if item is None:
            item = RateLimitItemPerSecond(amount, seconds)
            self._items[amount, seconds] = item
        return item

    async def _limited(
        self, amount: int, action: Callable[[MovingWindowRateLimiter, int], Awaitable[T]]
    ) -> T:
        """`action(limiter, amount)` on the shared window, or on this process's own with
        its share of `amount` while Redis does not answer."""
        local = self._local, max(1, amount // self._processes)
        shared = self._shared
        if shared is None:
            return await action(*local)
        return await self.outage.attempt(lambda: action(shared, amount), lambda: action(*local))

    async def hit(self, key: str, per_second: int) -> Decision:
        async def hit(limiter: MovingWindowRateLimiter, amount: int) -> Decision:
            item = self._item(amount, 1)
            allowed = await limiter.hit(item, key)
            stats = await limiter.get_window_stats(item, key)
            return Decision(
                allowed=allowed,
                limit=amount,
                remaining=stats.remaining,
                reset_after=max(0.0, stats.reset_time - time.time()),
            )

        return await self._limited(per_second, hit)

    async def attempt(self, key: str, amount: int, seconds: int) -> bool:
        """Counts one hit on `key` unless `amount` were counted in the last `seconds`; whether
        it was counted. The count and the check are one step (a lock in memory, a script in
        Redis), so of many attempts at once at most `amount` pass: an expensive act (a
        password check, a sign-up) is counted before it is done, never after."""

        async def attempt(limiter: MovingWindowRateLimiter, share: int) -> bool:
            return await limiter.hit(self._item(share, seconds), key)

        return await self._limited(amount, attempt)

    async def forget(self, key: str, amount: int, seconds: int) -> None:
        """Drops every hit counted on `key` (a log-in that succeeded)."""

        async def forget(limiter: MovingWindowRateLimiter, share: int) -> None:
            await limiter.clear(self._item(share, seconds), key)

        await self._limited(amount, forget)


def _redis_storage(redis_url: str, namespace: str) -> Storage:
    # redis-py rather than the default coredis: coredis retried a timed-out hit (a script
    # that is not idempotent) and counted it twice, and lost connections under load.
    return RedisStorage(
        f"async+{redis_url.removeprefix('async+')}",
        implementation="redispy",
        key_prefix=namespace,
        wrap_exceptions=True,
        connection_pool=redis_pool(redis_url.removeprefix("async+")),  # type: ignore[arg-type]
    )
