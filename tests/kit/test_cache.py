from __future__ import annotations

import asyncio
import uuid

import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from rcsgate.kit.cache import TtlCache
from rcsgate.kit.clock import FakeClock
from rcsgate.kit.outage import RETRY_AFTER
from tests.conftest import redis_url
from tests.fixtures.redis_server import RedisServer, own_redis

__all__ = ["own_redis"]


async def test_an_entry_lives_as_long_as_asked(clock: FakeClock) -> None:
    cache = TtlCache(clock)
    await cache.set("k", {"rcs": True}, 60)
    assert await cache.get("k") == {"rcs": True}
    clock.advance(59.9)
    assert await cache.get("k") == {"rcs": True}
    clock.advance(0.1)
    assert await cache.get("k") is None


async def test_a_zero_lifetime_keeps_nothing(clock: FakeClock) -> None:
    cache = TtlCache(clock)
    await cache.set("k", 1, 0)
    assert await cache.get("k") is None


@pytest.mark.redis
@pytest.mark.skipif(redis_url() is None, reason="needs RCSGATE_TEST_REDIS_URL")
async def test_processes_share_entries_through_redis(clock: FakeClock) -> None:
    namespace = f"test-{uuid.uuid4().hex}"
    one = TtlCache(clock, redis_url=redis_url(), namespace=namespace)
    other = TtlCache(clock, redis_url=redis_url(), namespace=namespace)
    try:
        await one.set("cap:rbm:a:46700000001", {"rcs": False, "features": []}, 60)
        assert await other.get("cap:rbm:a:46700000001") == {"rcs": False, "features": []}
        assert await other.get("cap:rbm:a:46700000002") is None
    finally:
        await one.aclose()
        await other.aclose()


@pytest.mark.redis
@pytest.mark.skipif(redis_url() is None, reason="needs RCSGATE_TEST_REDIS_URL")
async def test_lookups_made_together_share_one_round_trip(clock: FakeClock) -> None:
    cache = TtlCache(clock, redis_url=redis_url(), namespace=f"test-{uuid.uuid4().hex}")
    try:
        await cache.set("a", 1, 60)
        await cache.set("c", 3, 60)
        commands: list[str] = []
        execute = cache._redis.execute_command  # type: ignore[union-attr]

        async def counted(*args: object, **options: object) -> object:
            commands.append(str(args[0]))
            return await execute(*args, **options)

        cache._redis.execute_command = counted  # type: ignore[method-assign,union-attr]
        assert await asyncio.gather(*(cache.get(k) for k in "abc")) == [1, None, 3]
        assert commands == ["MGET"]
    finally:
        await cache.aclose()


async def test_entries_stay_in_process_while_redis_is_down(
    clock: FakeClock, own_redis: RedisServer
) -> None:
    cache = TtlCache(clock, redis_url=own_redis.url, namespace="outage")
    other = TtlCache(clock, redis_url=own_redis.url, namespace="outage")
    try:
        await cache.set("cap:shared", {"rcs": True}, 3600)
        assert await other.get("cap:shared") == {"rcs": True}

        own_redis.stop()
        with capture_logs() as logs:
            lookups = await asyncio.gather(*(cache.get(f"cap:{n}") for n in range(50)))
            await cache.set("cap:during", {"rcs": False}, 3600)
            during = await cache.get("cap:during")
        assert lookups == [None] * 50
        assert during == {"rcs": False}
        assert [e["event"] for e in logs] == ["redis.unavailable"]
        assert REGISTRY.get_sample_value("rcsgate_redis_degraded", {"use": "cache"}) == 1

        own_redis.start()
        assert await cache.get("cap:shared") is None  # within the back-off: not asked yet
        clock.advance(RETRY_AFTER.total_seconds())
        await cache.set("cap:after", {"rcs": True}, 3600)
        assert await other.get("cap:after") == {"rcs": True}
        assert REGISTRY.get_sample_value("rcsgate_redis_degraded", {"use": "cache"}) == 0
    finally:
        await cache.aclose()
        await other.aclose()
