"""A small shared cache of JSON values with a lifetime: in process, or in Redis when one is
configured so every server and worker process sees the same entries.

While Redis does not answer (`kit.outage`), entries are kept and read in-process instead:
a lookup then misses what other processes cached, which costs a fresh operator query, never
an error. Once Redis answers again it is used again; what was kept in-process meanwhile is
left to expire.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from rcsgate.kit.batching import Batcher
from rcsgate.kit.clock import Clock
from rcsgate.kit.outage import RedisOutage, redis_pool

# In-process entries beyond this push out the oldest (a long outage must not fill memory).
MAX_LOCAL_ENTRIES = 100_000


class TtlCache:
    def __init__(
        self, clock: Clock, *, redis_url: str | None = None, namespace: str = "rcsgate"
    ) -> None:
        self._clock = clock
        self._namespace = namespace
        self._redis: Redis | None = None
        if redis_url:
            self._redis = Redis(connection_pool=redis_pool(redis_url))
        self.outage = RedisOutage("cache", clock)
        self._local: dict[str, tuple[datetime, Any]] = {}
        # Lookups made together (a dispatch batch's) share one MGET.
        self._gets = Batcher(self._get_many, max_items=1000)

    async def get(self, key: str) -> Any | None:
        if self._redis is not None:
            return await self._gets.submit(key)
        return self._get_local(key)

    async def _get_many(self, keys: list[str]) -> list[Any | None]:
        redis = self._redis
        assert redis is not None

        async def shared() -> list[Any | None]:
            raws = await redis.mget([f"{self._namespace}:{key}" for key in keys])
            return [json.loads(raw) if raw is not None else None for raw in raws]

        async def local() -> list[Any | None]:
            return [self._get_local(key) for key in keys]

        return await self.outage.attempt(shared, local)

    async def set(self, key: str, value: Any, seconds: float) -> None:
        if seconds <= 0:
            return
        redis = self._redis
        if redis is None:
            self._set_local(key, value, seconds)
            return

        async def shared() -> None:
            await redis.set(f"{self._namespace}:{key}", json.dumps(value), px=int(seconds * 1000))

        async def local() -> None:
            self._set_local(key, value, seconds)

        await self.outage.attempt(shared, local)

    def _get_local(self, key: str) -> Any | None:
        entry = self._local.get(key)
        if entry is None or entry[0] <= self._clock.now():
            self._local.pop(key, None)
            return None
        return entry[1]

    def _set_local(self, key: str, value: Any, seconds: float) -> None:
        self._local.pop(key, None)
        self._local[key] = (self._clock.now() + timedelta(seconds=seconds), value)
        if len(self._local) > MAX_LOCAL_ENTRIES:
            del self._local[next(iter(self._local))]

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
