"""The per-account rate limit: all keys together, every process sharing one Redis."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from structlog.testing import capture_logs

from rcsgate.app import create_app
from rcsgate.brands.service import list_brands
from rcsgate.config import Settings
from rcsgate.context import AppContext
from rcsgate.keys.service import create_key
from rcsgate.kit.clock import FakeClock
from rcsgate.kit.outage import RETRY_AFTER
from rcsgate.kit.pagination import PageParams
from rcsgate.kit.ratelimit import RateLimiter
from rcsgate.models import Message
from tests.conftest import ClientFactory, TenantFactory, make_context, redis_url
from tests.fixtures.messaging import count_rows, launched_sender
from tests.fixtures.redis_server import RedisServer, own_redis

__all__ = ["own_redis"]

LIMIT = 5


async def burst(
    client: httpx.AsyncClient, count: int, path: str = "/v3/account"
) -> list[httpx.Response]:
    return list(await asyncio.gather(*(client.get(path) for _ in range(count))))


async def test_every_response_carries_rate_limit_headers(
    client_for: ClientFactory, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant(rate_limit=LIMIT)
    api = client_for(token=tenant.token)

    first = await api.get("/v3/account")
    missing = await api.get("/v3/brands/nope")

    assert first.headers["ratelimit-limit"] == str(LIMIT)
    assert first.headers["ratelimit-remaining"] == str(LIMIT - 1)
    assert int(first.headers["ratelimit-reset"]) in (0, 1)
    assert missing.status_code == 404
    assert missing.headers["ratelimit-remaining"] == str(LIMIT - 2)


async def test_over_the_limit_is_429_with_retry_after(
    client_for: ClientFactory, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant(rate_limit=LIMIT)
    responses = await burst(client_for(token=tenant.token), LIMIT + 3)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * LIMIT + [429] * 3
    limited = next(r for r in responses if r.status_code == 429)
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["type"] == "https://rcsgate.dev/problems/rate-limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["ratelimit-remaining"] == "0"


async def test_the_limit_is_per_account_across_its_keys(
    client_for: ClientFactory, make_tenant: TenantFactory, context: AppContext
) -> None:
    tenant = await make_tenant(rate_limit=LIMIT)
    async with context.sessionmaker.begin() as session:
        _key, second_token = await create_key(
            session, context.clock, account_id=tenant.account_id, name="second"
        )
    other = await make_tenant(rate_limit=LIMIT)

    first_key = await burst(client_for(token=tenant.token), 3)
    second_key = await burst(client_for(token=second_token), 3)
    other_account = await burst(client_for(token=other.token), LIMIT)

    statuses = sorted(r.status_code for r in first_key + second_key)
    assert statuses == [200] * LIMIT + [429]
    assert all(r.status_code == 200 for r in other_account)


async def test_a_limited_request_has_no_effect(
    client_for: ClientFactory, make_tenant: TenantFactory, context: AppContext
) -> None:
    tenant = await make_tenant(rate_limit=1)
    api = client_for(token=tenant.token)
    assert (await api.post("/v3/brands", json={"displayName": "First"})).status_code == 201

    limited = await api.post("/v3/brands", json={"displayName": "Second"})

    assert limited.status_code == 429
    async with context.sessionmaker() as session:
        page = await list_brands(session, tenant.account_id, PageParams())
    assert [brand.display_name for brand in page.items] == ["First"]


@pytest.mark.skipif(redis_url() is None, reason="needs RCSGATE_TEST_REDIS_URL")
async def test_hits_made_together_count_in_order_in_one_window() -> None:
    limiter = RateLimiter(redis_url(), namespace=f"test-{uuid.uuid4().hex}")

    decisions = await asyncio.gather(*(limiter.hit("account", LIMIT) for _ in range(LIMIT + 3)))

    assert [d.allowed for d in decisions] == [True] * LIMIT + [False] * 3
    assert [d.remaining for d in decisions] == [*range(LIMIT - 1, -1, -1), 0, 0, 0]
    assert all(0 < d.reset_after <= 1 for d in decisions)


@pytest.mark.skipif(redis_url() is None, reason="needs RCSGATE_TEST_REDIS_URL")
async def test_two_app_instances_sharing_redis_hold_one_limit(
    settings: Settings, context: AppContext, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant(rate_limit=LIMIT)
    namespace = f"test-{uuid.uuid4().hex}"
    apps = [
        create_app(
            context=make_context(
                settings,
                context.engine,
                context.clock,
                RateLimiter(redis_url(), namespace=namespace),
            )
        )
        for _ in range(2)
    ]
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("203.0.113.9", 1)),
            base_url="https://testserver",
            headers={"Authorization": f"Bearer {tenant.token}"},
        )
        for app in apps
    ]
    try:
        results = await asyncio.gather(*(burst(client, LIMIT) for client in clients))
    finally:
        for client in clients:
            await client.aclose()

    statuses = sorted(r.status_code for responses in results for r in responses)
    assert statuses == [200] * LIMIT + [429] * LIMIT


class TestRedisOutage:
    """Redis stopped and restarted under sends: never a 500, limits held in-process."""

    LIMIT = 6
    PROCESSES = 2  # while Redis is down this process allows 6 // 2 = 3 a second

    @pytest.fixture
    async def outage_api(
        self,
        settings: Settings,
        context: AppContext,
        clock: FakeClock,
        own_redis: RedisServer,
        make_tenant: TenantFactory,
        client_for: ClientFactory,
    ) -> httpx.AsyncClient:
        limiter = RateLimiter(
            own_redis.url, namespace="outage", clock=clock, processes=self.PROCESSES
        )
        own = settings.model_copy(update={"redis_url": own_redis.url})
        app = create_app(context=make_context(own, context.engine, clock, limiter))
        tenant = await make_tenant(rate_limit=self.LIMIT)
        await launched_sender(context, tenant.account_id)
        return client_for(token=tenant.token, target=app)

    async def sends(self, api: httpx.AsyncClient, count: int) -> list[httpx.Response]:
        body = {"brand": "min-butik-ab", "agent": "kundservice", "content": "Hej"}
        return list(
            await asyncio.gather(
                *(
                    api.post("/v3/conversations", json={**body, "recipient": f"4670012{n:04d}"})
                    for n in range(count)
                )
            )
        )

    async def test_sends_are_answered_while_redis_stops_and_restarts(
        self,
        outage_api: httpx.AsyncClient,
        own_redis: RedisServer,
        clock: FakeClock,
        context: AppContext,
    ) -> None:
        up = await self.sends(outage_api, self.LIMIT + 2)
        assert statuses(up) == {201: self.LIMIT, 429: 2}
        assert await window_keys(own_redis) == 1
        assert degraded() == 0

        own_redis.stop()
        with capture_logs() as logs:
            down = await self.sends(outage_api, 20)
            clock.advance(RETRY_AFTER.total_seconds())  # Redis is asked again, still down
            down_again = await self.sends(outage_api, 4)
        share = self.LIMIT // self.PROCESSES
        assert statuses(down) == {201: share, 429: 20 - share}
        assert {r.headers["ratelimit-limit"] for r in down + down_again} == {str(share)}
        assert set(statuses(down_again)) <= {201, 429}
        assert [e["event"] for e in logs if e["event"].startswith("redis.")] == [
            "redis.unavailable"
        ]
        assert degraded() == 1

        own_redis.start()
        waiting = await self.sends(outage_api, 1)  # within the back-off: still in-process
        clock.advance(RETRY_AFTER.total_seconds())
        back = await self.sends(outage_api, 1)
        assert waiting[0].headers["ratelimit-limit"] == str(share)
        assert back[0].status_code == 201
        assert back[0].headers["ratelimit-limit"] == str(self.LIMIT)
        assert await window_keys(own_redis) == 1  # the restarted, empty Redis counts again
        assert degraded() == 0
        accepted = [r for r in up + down + down_again + waiting + back if r.status_code == 201]
        assert await count_rows(context, Message) == len(accepted)

    async def test_log_in_throttles_count_in_process_while_redis_is_down(
        self, own_redis: RedisServer, clock: FakeClock
    ) -> None:
        limiter = RateLimiter(own_redis.url, namespace="outage", clock=clock, processes=2)
        assert await limiter.attempt("portal-login:ip:203.0.113.9", 6, 900)
        own_redis.stop()
        for _ in range(3):  # this process's share of 6 across 2 processes
            assert await limiter.attempt("portal-login:ip:203.0.113.9", 6, 900)
        assert not await limiter.attempt("portal-login:ip:203.0.113.9", 6, 900)


def statuses(responses: list[httpx.Response]) -> dict[int, int]:
    counted: dict[int, int] = {}
    for response in responses:
        counted[response.status_code] = counted.get(response.status_code, 0) + 1
    return counted


def degraded() -> float | None:
    return REGISTRY.get_sample_value("rcsgate_redis_degraded", {"use": "rate_limit"})


async def window_keys(server: RedisServer) -> int:
    redis = Redis.from_url(server.url)
    try:
        return len([key async for key in redis.scan_iter("outage*")])
    finally:
        await redis.aclose()
