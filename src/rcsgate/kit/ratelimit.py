"""Per-key request rate limits over a moving one-second window (the `limits` library).

In-process storage when no Redis is configured; with Redis, every server process shares the
same window, so an account's limit holds across all of them. While Redis does not answer
(`kit.outage`), each process counts in-process instead and allows its share of every limit:
the limit divided by `processes` (RCSGATE_PROCESS_COUNT, the server processes behind the
same Redis), at least one. The whole still stays within the limit, and nothing is refused
or failed because Redis is down.

A request's hit on the shared window costs at most one Redis round trip, shared by the hits
made at the same moment: `HIT_SCRIPT` counts each hit (unless its window is full) and reads
the window's count and oldest entry in the same step, on the same list the `limits` library
keeps (its key and layout), where the library would take two scripts per hit.
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
from redis.asyncio import BlockingConnectionPool, Redis

from rcsgate.kit.batching import Batcher
from rcsgate.kit.clock import Clock, SystemClock
from rcsgate.kit.outage import RedisOutage, redis_pool

T = TypeVar("T")

# KEYS: windows, each a list of hit times (seconds), newest first, as `limits` keeps them;
# a window may come more than once (hits counted in order). ARGV: now, then a limit and an
# expiry (seconds) per window. Each hit is counted unless `limit` hits fall within the last
# `expiry` seconds; answers {counted (0/1), hits in the window, the oldest one's time} per hit.
HIT_SCRIPT = """
local now = tonumber(ARGV[1])
local answers = {}
for i, window in ipairs(KEYS) do
    local limit = tonumber(ARGV[2 * i])
    local expiry = tonumber(ARGV[2 * i + 1])
    local since = now - expiry
    local counted = 0
    local last = redis.call('lindex', window, limit - 1)
    if not (last and tonumber(last) >= since) then
        redis.call('lpush', window, ARGV[1])
        redis.call('ltrim', window, 0, limit - 1)
        redis.call('expire', window, expiry)
        counted = 1
    end
    local low, high, oldest = 0, redis.call('llen', window) - 1, -1
    while low <= high do
        local mid = math.floor((low + high) / 2)
        if tonumber(redis.call('lindex', window, mid)) >= since then
            oldest, low = mid, mid + 1
        else
            high = mid - 1
        end
    end
    answers[#answers + 1] = counted
    answers[#answers + 1] = oldest + 1
    answers[#answers + 1] = oldest < 0 and ARGV[1] or redis.call('lindex', window, oldest)
end
return answers
"""
# Hits sent to Redis together at most (one script call).
MAX_HITS_AT_ONCE = 256


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
        self._shared: MovingWindowRateLimiter | None = None
        self._window: _SharedWindow | None = None
        if redis_url:
            pool = redis_pool(redis_url.removeprefix("async+"))
            self._shared = MovingWindowRateLimiter(_redis_storage(redis_url, namespace, pool))
            self._window = _SharedWindow(Redis(connection_pool=pool), namespace)
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
        """One request of `key`'s, counted unless `per_second` were counted in the last
        second (then it is not allowed)."""
        window = self._window
        if window is None:
            return await self._local_hit(key, max(1, per_second // self._processes))
        item = self._item(per_second, 1)
        return await self.outage.attempt(
            lambda: window.hit(item, key),
            lambda: self._local_hit(key, max(1, per_second // self._processes)),
        )

    async def _local_hit(self, key: str, amount: int) -> Decision:
        item = self._item(amount, 1)
        allowed = await self._local.hit(item, key)
        stats = await self._local.get_window_stats(item, key)
        return Decision(
            allowed=allowed,
            limit=amount,
            remaining=stats.remaining,
            reset_after=max(0.0, stats.reset_time - time.time()),
        )

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


class _SharedWindow:
    """The moving windows in Redis. Hits made together (the requests of one moment) go in
    one call of `HIT_SCRIPT`: one round trip for all of them. A failed call fails each of its
    hits (not retried: it may have counted them), which then count in-process."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self._namespace = namespace
        self._script = redis.register_script(HIT_SCRIPT)
        self._hits: Batcher[tuple[RateLimitItemPerSecond, str], Decision] = Batcher(
            self._hit_all, MAX_HITS_AT_ONCE, one_by_one=False
        )

    async def hit(self, item: RateLimitItemPerSecond, key: str) -> Decision:
        return await self._hits.submit((item, key))

    async def _hit_all(self, hits: list[tuple[RateLimitItemPerSecond, str]]) -> list[Decision]:
        now = time.time()
        # Named as `limits` names them: `attempt` and `forget` use the same windows.
        windows = [f"{self._namespace}:{item.key_for(key)}" for item, key in hits]
        args: list[str | int] = [repr(now)]
        for item, _key in hits:
            args += [item.amount, item.get_expiry()]
        answers = await self._script(keys=windows, args=args)
        return [
            Decision(
                allowed=bool(answers[3 * n]),
                limit=item.amount,
                remaining=max(0, item.amount - int(answers[3 * n + 1])),
                reset_after=max(0.0, float(answers[3 * n + 2]) + item.get_expiry() - now),
            )
            for n, (item, _key) in enumerate(hits)
        ]


def _redis_storage(redis_url: str, namespace: str, pool: BlockingConnectionPool) -> Storage:
    # redis-py rather than the default coredis: coredis retried a timed-out hit (a script
    # that is not idempotent) and counted it twice, and lost connections under load.
    return RedisStorage(
        f"async+{redis_url.removeprefix('async+')}",
        implementation="redispy",
        key_prefix=namespace,
        wrap_exceptions=True,
        connection_pool=pool,  # type: ignore[arg-type]
    )
