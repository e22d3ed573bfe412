"""A small shared cache of JSON values with a lifetime: in process, or in Redis when one is
configured so every server and worker process sees the same entries."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

from rcsgate.kit.batching import Batcher
from rcsgate.kit.clock import Clock


class TtlCache:
    def __init__(
        self, clock: Clock, *, redis_url: str | None = None, namespace: str = "rcsgate"
    ) -> None:
        self._clock = clock
        self._namespace = namespace
        self._redis: Redis | None = None
        if redis_url:
            # A dispatch batch looks up hundreds of entries at once: callers wait for a
            # connection instead of failing when the pool is busy.
            pool = BlockingConnectionPool.from_url(redis_url, max_connections=32, timeout=10)
            self._redis = Redis(connection_pool=pool)
        self._local: dict[str, tuple[datetime, Any]] = {}
        # Lookups made together (a dispatch batch's) share one MGET.
        self._gets = Batcher(self._get_many, max_items=1000)

    async def get(self, key: str) -> Any | None:
        if self._redis is not None:
            return await self._gets.submit(key)
        entry = self._local.get(key)
        if entry is None or entry[0] <= self._clock.now():
            self._local.pop(key, None)
            return None
        return entry[1]

    async def _get_many(self, keys: list[str]) -> list[Any | None]:
        assert self._redis is not None
        raws = await self._redis.mget([f"{self._namespace}:{key}" for key in keys])
        return [json.loads(raw) if raw is not None else None for raw in raws]

    async def set(self, key: str, value: Any, seconds: float) -> None:
        if seconds <= 0:
            return
        if self._redis is not None:
            await self._redis.set(
                f"{self._namespace}:{key}", json.dumps(value), px=int(seconds * 1000)
            )
            return
        self._local[key] = (self._clock.now() + timedelta(seconds=seconds), value)

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
