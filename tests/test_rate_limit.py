"""The per-account rate limit: all keys together, every process sharing one Redis."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from rcsgate.app import create_app
from rcsgate.brands.service import list_brands
from rcsgate.config import Settings
from rcsgate.context import AppContext
from rcsgate.keys.service import create_key
from rcsgate.kit.pagination import PageParams
from rcsgate.kit.ratelimit import RateLimiter
from tests.conftest import ClientFactory, TenantFactory, make_context, redis_url

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
