"""AppContext: the one composition root shared by the API, the workers and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from rcsgate.accounts.service import AccountCache, account_cache
from rcsgate.agents.cache import SenderCache, sender_cache
from rcsgate.bundles.committer import BundleCommitter
from rcsgate.config import Settings
from rcsgate.conversations.committer import StartCommitter
from rcsgate.dispatch import jobs
from rcsgate.dispatch.receipts import Receipts
from rcsgate.dispatch.routing import Capabilities, Operators
from rcsgate.keys.cache import KeyCache
from rcsgate.kit.batching import writers_in_flight
from rcsgate.kit.cache import TtlCache
from rcsgate.kit.clock import Clock, SystemClock
from rcsgate.kit.crypto import SHARED_PASSWORDS, Passwords
from rcsgate.kit.db import create_engine, create_sessionmaker
from rcsgate.kit.ratelimit import RateLimiter
from rcsgate.kit.settled import SettledPages
from rcsgate.kit.wakeup import Doorbell, ring_on_insert
from rcsgate.models import Job, WebhookDelivery
from rcsgate.webhooks import emit


@dataclass(frozen=True)
class Wakeups:
    """The process's doorbells (kit.wakeup): the relay loops wait on `jobs`, the webhook
    senders on `webhooks`; each rings after any commit that inserted into its table."""

    jobs: Doorbell = field(default_factory=lambda: Doorbell(jobs.CHANNEL))
    webhooks: Doorbell = field(default_factory=lambda: Doorbell(emit.CHANNEL))


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    rate_limiter: RateLimiter
    key_cache: KeyCache
    settled_pages: SettledPages = field(default_factory=SettledPages)
    passwords: Passwords = SHARED_PASSWORDS
    operators: Operators = field(default_factory=Operators)
    capabilities: Capabilities = field(init=False)
    receipts: Receipts = field(init=False)
    accounts: AccountCache = field(init=False)
    senders: SenderCache = field(init=False)
    conversation_starts: StartCommitter = field(init=False)
    bundles: BundleCommitter = field(init=False)
    wakeups: Wakeups = field(default_factory=Wakeups)
    closed: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        settings = self.settings
        cache = TtlCache(self.clock, redis_url=settings.redis_url)
        self.capabilities = Capabilities(cache, self.clock, settings.capability_cache_seconds)
        self.receipts = Receipts(
            self.sessionmaker,
            self.clock,
            duplicate_window=timedelta(seconds=settings.sms_duplicate_window),
        )
        self.accounts = account_cache(self.sessionmaker, self.clock, settings.account_cache_seconds)
        self.senders = sender_cache(self.sessionmaker, self.clock, settings.sender_cache_seconds)
        self.conversation_starts = StartCommitter(self.engine, self.sessionmaker, self.clock)
        self.bundles = BundleCommitter(
            self.sessionmaker, writers_in_flight(self.engine.dialect.name)
        )
        ring_on_insert(
            self.sessionmaker,
            {
                cast(Table, Job.__table__): self.wakeups.jobs,
                cast(Table, WebhookDelivery.__table__): self.wakeups.webhooks,
            },
        )

    @classmethod
    def create(cls, settings: Settings, *, clock: Clock | None = None) -> AppContext:
        engine = create_engine(settings.resolved_database_url, pool_size=settings.db_pool_size)
        clock = clock or SystemClock()
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            clock=clock,
            rate_limiter=RateLimiter(
                settings.redis_url,
                clock=clock,
                processes=settings.process_count or settings.workers,
            ),
            key_cache=KeyCache(clock, settings.key_cache_seconds),
            passwords=Passwords(settings.password_hash_threads),
        )

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            await self.capabilities.cache.aclose()
            await self.engine.dispose()
            if self.passwords is not SHARED_PASSWORDS:
                self.passwords.close()
