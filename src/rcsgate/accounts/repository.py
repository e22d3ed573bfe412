from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.models import Account, User


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, account_id: str) -> Account | None:
        return await self.session.get(Account, account_id)

    async def summary(self, account_id: str) -> Row[str, str, str, Decimal, int, datetime] | None:
        """The account's public columns as a row: no ORM identity, for the read-only path."""
        result = await self.session.execute(
            select(
                Account.id,
                Account.name,
                Account.currency,
                Account.balance,
                Account.rate_limit,
                Account.created_at,
            ).where(Account.id == account_id)
        )
        return result.first()

    async def user_by_email(self, email: str) -> User | None:
        return await self.session.scalar(select(User).where(User.email == email.lower()))

    def add(self, row: Account | User) -> None:
        self.session.add(row)
