"""Caches with a lifetime.

`TtlCache`: JSON values shared by every process through Redis when one is configured (else
in process). While Redis does not answer (`kit.outage`), entries are kept and read in-process
instead: a lookup then misses what other processes cached, which costs a fresh operator query,
never an error. Once Redis answers again it is used again; what was kept in-process meanwhile
is left to expire.

`LocalCache`: Python values in this process only, for what the hot path reads on every request
(keys, senders, accounts); a change made in this process forgets the entries it touches at
once, a change made in another process is seen when the entry's lifetime ends, so the lifetime
bounds how stale another process can be. Misses of one key at the same time share one load
(`get_or_load`): when a hot entry expires, the requests that find it gone do not all read
the database at once.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from redis.asyncio import Redis
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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


K = TypeVar("K")
V = TypeVar("V")
MAX_ENTRIES = 10_000


class LocalCache(Generic[K, V]):
    """In-process entries that live `ttl_seconds` (0: nothing is kept), least recently
    stored dropped first past `max_entries`, so a flood of distinct keys cannot fill memory.

    `install` makes it reachable from every session of a sessionmaker (`of`), so the services
    that change what it holds can forget entries without being handed the cache."""

    def __init__(self, clock: Clock, ttl_seconds: float, max_entries: int = MAX_ENTRIES) -> None:
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_seconds)
        self._max = max_entries
        self._entries: OrderedDict[K, tuple[V, datetime]] = OrderedDict()
        self._loading: dict[K, asyncio.Task[V | None]] = {}

    @property
    def enabled(self) -> bool:
        return self._ttl > timedelta(0)

    async def get_or_load(
        self, key: K, load: Callable[[], Awaitable[V | None]]
    ) -> tuple[V | None, bool]:
        """The entry, else what `load()` finds (kept unless None); and whether this caller's
        own `load` ran. Callers that miss while a load of `key` runs wait for its result
        instead of loading again (their `load` does not run)."""
        value = self.get(key)
        if value is not None:
            return value, False
        running = self._loading.get(key)
        if running is not None:
            return await asyncio.shield(running), False
        task = asyncio.ensure_future(self._load(key, load))
        self._loading[key] = task
        task.add_done_callback(lambda _task: self._loading.pop(key, None))
        # Shielded: a caller that goes away does not cancel the load the others wait for.
        return await asyncio.shield(task), True

    async def _load(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        value = await load()
        if value is not None:
            self.put(key, value)
        return value

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires = entry
        if self._clock.now() >= expires:
            del self._entries[key]
            return None
        return value

    def put(self, key: K, value: V) -> None:
        if not self.enabled:
            return
        self._entries[key] = (value, self._clock.now() + self._ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)

    def forget_where(self, matches: Callable[[V], bool]) -> None:
        """Drops every entry whose value matches; for rare changes (a scan of the entries)."""
        for key, (value, _expires) in list(self._entries.items()):
            if matches(value):
                del self._entries[key]

    def forget_at_commit(self, session: AsyncSession, matches: Callable[[V], bool]) -> None:
        """Forgets the matching entries now and again once `session` commits: a read made in
        between by another request of this process saw the old rows, and is not kept."""
        self.forget_where(matches)

        def again(_session: object) -> None:
            self.forget_where(matches)

        event.listen(session.sync_session, "after_commit", again, once=True)

    def install(self, sessionmaker: async_sessionmaker[AsyncSession], name: str) -> None:
        info = {**sessionmaker.kw.get("info", {}), name: self}
        sessionmaker.configure(info=info)

    @staticmethod
    def of(session: AsyncSession, name: str) -> LocalCache[Any, Any] | None:
        """The cache installed under `name` on the session's sessionmaker, if any."""
        cache = session.info.get(name)
        return cache if isinstance(cache, LocalCache) else None
