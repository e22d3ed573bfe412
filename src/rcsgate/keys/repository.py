from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Row, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.models import Account, ApiKey


class KeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, key: ApiKey) -> None:
        self.session.add(key)

    async def get(self, account_id: str, key_id: str) -> ApiKey | None:
        return await self.session.scalar(
            select(ApiKey).where(ApiKey.id == key_id, ApiKey.account_id == account_id)
        )

    async def for_account(self, account_id: str) -> list[ApiKey]:
        rows = await self.session.scalars(
            select(ApiKey).where(ApiKey.account_id == account_id).order_by(ApiKey.id)
        )
        return list(rows)

    async def live_by_hash(self, token_hash: str) -> Row[ApiKey, int, str] | None:
        """The unrevoked key with this token hash, with its account's rate limit and currency."""
        result = await self.session.execute(
            select(ApiKey, Account.rate_limit, Account.currency)
            .join(Account, Account.id == ApiKey.account_id)
            .where(ApiKey.token_hash == token_hash, ApiKey.revoked_at.is_(None))
        )
        return result.first()

    async def touch(self, key_id: str, at: datetime, every: timedelta) -> None:
        """Record a use at `at`, unless one was recorded less than `every` before."""
        await self.session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= at - every),
            )
            .values(last_used_at=at)
        )
