"""The senders a send names (brand and launched agent), remembered per process.

Every accept names its brand and agent; reading them from the database each time cost half
of a send's service time. A resolved sender is kept RCSGATE_SENDER_CACHE_SECONDS (5 s) in a
LocalCache installed on the context's sessionmaker. The brands and agents services forget an
account's senders whenever they change one of its brands or agents (now and again at commit),
so in this process a change bites at once; a change made by another process (another API
server, a worker recording a launch result) bites within the TTL. Only launched senders are
kept: a refusal (unknown, not launched) is read again on every request.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rcsgate.kit.cache import LocalCache
from rcsgate.kit.clock import Clock
from rcsgate.models import Agent, Brand

SENDER_CACHE = "rcsgate.senders"


@dataclass(frozen=True, slots=True)
class Sender:
    """What a send needs of its brand and agent, detached from any session."""

    account_id: str
    brand_id: str
    brand_name: str
    agent_id: str
    agent_name: str
    use_case: str
    sms_sender: str | None

    @classmethod
    def of(cls, brand: Brand, agent: Agent) -> Sender:
        return cls(
            account_id=agent.account_id,
            brand_id=brand.id,
            brand_name=brand.brand_name,
            agent_id=agent.id,
            agent_name=agent.agent_name,
            use_case=agent.use_case,
            sms_sender=agent.sms_sender,
        )


SenderCache = LocalCache[tuple[str, str, str], Sender]


def sender_cache(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, ttl_seconds: float
) -> SenderCache:
    cache: SenderCache = LocalCache(clock, ttl_seconds)
    cache.install(sessionmaker, SENDER_CACHE)
    return cache


def senders(session: AsyncSession) -> SenderCache | None:
    return LocalCache.of(session, SENDER_CACHE)


def by_names(account_id: str, brand_name: str, agent_name: str) -> tuple[str, str, str]:
    """The key of a sender named in a send: names match in any case, as the query does."""
    return (account_id, brand_name.casefold(), agent_name.casefold())


def by_ids(brand_id: str, agent_id: str) -> tuple[str, str, str]:
    """The key of a conversation's sender (ids never collide with an account's names key)."""
    return ("#", brand_id, agent_id)


def forget_senders(session: AsyncSession, account_id: str) -> None:
    """Every change to a brand or agent of the account calls this."""
    cache = senders(session)
    if cache is not None:
        cache.forget_at_commit(session, lambda sender: sender.account_id == account_id)
