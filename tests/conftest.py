from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from rcsgate.accounts.service import create_account
from rcsgate.app import create_app
from rcsgate.config import Settings
from rcsgate.context import AppContext
from rcsgate.keys.cache import KeyCache
from rcsgate.keys.service import create_key
from rcsgate.kit.clock import FakeClock
from rcsgate.kit.db import create_engine, create_sessionmaker
from rcsgate.kit.ratelimit import RateLimiter
from tests.fixtures.database import backend, database_url, empty_all_tables
from tests.fixtures.messaging import Sender, launched_sender

__all__ = ["database_url"]

CLIENT_IP = "203.0.113.9"


def redis_url() -> str | None:
    return os.environ.get("RCSGATE_TEST_REDIS_URL")


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, trusted_proxies=["10.9.0.0/16"], max_body_bytes=4096)


def make_context(
    settings: Settings, engine: AsyncEngine, clock: FakeClock, limiter: RateLimiter
) -> AppContext:
    return AppContext(
        settings=settings,
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        clock=clock,
        rate_limiter=limiter,
        key_cache=KeyCache(clock, settings.key_cache_seconds),
    )


@pytest.fixture
async def context(
    settings: Settings, engine: AsyncEngine, clock: FakeClock
) -> AsyncIterator[AppContext]:
    """A context on the shared database; on the PostgreSQL pass, rate limits live in Redis."""
    redis = redis_url() if backend() == "postgres" else None
    limiter = RateLimiter(redis, namespace=f"test-{uuid.uuid4().hex}")
    yield make_context(settings, engine, clock, limiter)
    await empty_all_tables(engine)


@pytest.fixture
def app(context: AppContext) -> FastAPI:
    return create_app(context=context)


ClientFactory = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def client_for(app: FastAPI) -> AsyncIterator[ClientFactory]:
    """Clients of the app as seen from a given peer address and scheme."""
    clients: list[httpx.AsyncClient] = []

    def make(
        peer: str = CLIENT_IP,
        scheme: str = "https",
        token: str | None = None,
        target: FastAPI | None = None,
    ) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=target or app, client=(peer, 40000))
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.AsyncClient(
            transport=transport, base_url=f"{scheme}://testserver", headers=headers
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@dataclass(frozen=True)
class Tenant:
    account_id: str
    key_id: str
    token: str


TenantFactory = Callable[..., Awaitable[Tenant]]


@pytest.fixture
def make_tenant(context: AppContext) -> TenantFactory:
    """An account with one API key, made through the services the CLI uses."""

    async def make(
        rate_limit: int = 1000, allowed_ips: list[str] | None = None, name: str = "Tenant"
    ) -> Tenant:
        async with context.sessionmaker.begin() as session:
            account = await create_account(
                session,
                context.clock,
                name=name,
                email=f"{uuid.uuid4().hex[:8]}@example.com",
                currency="SEK",
                rate_limit=rate_limit,
            )
            key, token = await create_key(
                session,
                context.clock,
                account_id=account.id,
                name="test",
                allowed_ips=allowed_ips or [],
            )
            return Tenant(account.id, key.id, token)

    return make


@pytest.fixture
async def tenant(make_tenant: TenantFactory) -> Tenant:
    return await make_tenant()


@pytest.fixture
async def api(client_for: ClientFactory, tenant: Tenant) -> httpx.AsyncClient:
    """An authenticated client of the tenant's account, over HTTPS from an ordinary address."""
    return client_for(token=tenant.token)


@pytest.fixture
async def sender(context: AppContext, tenant: Tenant) -> Sender:
    """The tenant's launched brand `min-butik-ab` and agent `kundservice`."""
    return await launched_sender(context, tenant.account_id)
