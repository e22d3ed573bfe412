"""Redis is a shared convenience, never a single point of failure.

Rate limits and caches are shared through Redis when one is configured. When Redis does not
answer, each use falls back to in-process state (see its own module for what that means),
so a request is never refused, or failed, because Redis is down. The outage is logged once
when it starts and once when it ends, shown as `rcsgate_redis_degraded{use} 1`, and each
operation served in-process counts in `rcsgate_redis_fallbacks_total{use}`.

While Redis is down it is not asked on every request: after a failure, one caller probes it
again once RETRY_AFTER has passed on the clock; everyone else stays in-process meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from limits.errors import StorageError
from redis.asyncio import BlockingConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from rcsgate.kit.clock import Clock
from rcsgate.kit.logging import get_logger
from rcsgate.kit.metrics import REDIS_DEGRADED, REDIS_FALLBACKS

T = TypeVar("T")

RETRY_AFTER = timedelta(seconds=2)
# Seconds a Redis connect or reply may take before the call counts as failed: a Redis that
# hangs must not hold requests for long; under a loaded event loop a healthy Redis can take
# most of a second to be heard (a false outage counts hits apart from the shared window).
REDIS_TIMEOUT = 2.0
REDIS_ERRORS: tuple[type[Exception], ...] = (
    RedisError,
    StorageError,
    OSError,
    asyncio.TimeoutError,
)


def redis_pool(redis_url: str) -> BlockingConnectionPool:
    """Connections that give up within REDIS_TIMEOUT. Callers wait for a free connection
    rather than fail when all are busy (a dispatch batch looks up hundreds of entries)."""
    return BlockingConnectionPool.from_url(
        redis_url,
        max_connections=32,
        timeout=10,
        socket_connect_timeout=REDIS_TIMEOUT,
        socket_timeout=REDIS_TIMEOUT,
        # A pooled connection from before a Redis restart fails once, before the command
        # reaches Redis: retry on a fresh one at once rather than take Redis for down.
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )


class RedisOutage:
    """Whether Redis answers, for one use (`rate_limit`, `cache`) in this process."""

    def __init__(self, use: str, clock: Clock, retry_after: timedelta = RETRY_AFTER) -> None:
        self.use = use
        self._clock = clock
        self._retry_after = retry_after
        self._down_since: datetime | None = None
        self._retry_at: datetime | None = None
        self._log = get_logger(__name__)
        REDIS_DEGRADED.labels(use).set(0)

    @property
    def degraded(self) -> bool:
        return self._down_since is not None

    async def attempt(
        self, shared: Callable[[], Awaitable[T]], local: Callable[[], Awaitable[T]]
    ) -> T:
        """`shared()` on Redis, or `local()` in-process while Redis does not answer."""
        if self._may_ask():
            try:
                result = await shared()
            except REDIS_ERRORS as error:
                self._failed(error)
            else:
                self._answered()
                return result
        REDIS_FALLBACKS.labels(self.use).inc()
        return await local()

    def _may_ask(self) -> bool:
        if self._retry_at is None:
            return True
        now = self._clock.now()
        if now < self._retry_at:
            return False
        self._retry_at = now + self._retry_after  # this caller probes; the others wait
        return True

    def _failed(self, error: Exception) -> None:
        now = self._clock.now()
        self._retry_at = now + self._retry_after
        if self._down_since is None:
            self._down_since = now
            REDIS_DEGRADED.labels(self.use).set(1)
            self._log.warning(
                "redis.unavailable", use=self.use, error=repr(error), fallback="process"
            )

    def _answered(self) -> None:
        if self._down_since is None:
            return
        down_for = (self._clock.now() - self._down_since).total_seconds()
        self._down_since = self._retry_at = None
        REDIS_DEGRADED.labels(self.use).set(0)
        self._log.info("redis.available", use=self.use, down_seconds=down_for)
