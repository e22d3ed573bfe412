from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Row, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.models import Account, PortalSession, User


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

    async def user(self, user_id: str) -> User | None:
        return await self.session.get(User, user_id)

    async def users_of(self, account_id: str) -> list[User]:
        rows = await self.session.scalars(
            select(User).where(User.account_id == account_id).order_by(User.created_at, User.id)
        )
        return list(rows)

    def add_session(self, row: PortalSession) -> None:
        self.session.add(row)

    async def live_session(self, token_hash: str, now: datetime) -> PortalSession | None:
        return await self.session.scalar(
            select(PortalSession).where(
                PortalSession.token_hash == token_hash, PortalSession.expires_at > now
            )
        )

    async def delete_expired_sessions(self, user_id: str, now: datetime) -> None:
        await self.session.execute(
            delete(PortalSession).where(
                PortalSession.user_id == user_id, PortalSession.expires_at <= now
            )
        )

    async def delete_session(self, token_hash: str) -> None:
        await self.session.execute(
            delete(PortalSession).where(PortalSession.token_hash == token_hash)
        )
