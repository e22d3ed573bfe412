from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Row, delete, func, select, update
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

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        await self.session.execute(
            update(User).where(User.id == user_id).values(password_hash=password_hash)
        )

    async def delete_sessions_except(self, user_id: str, keep_token_hash: str | None) -> None:
        """Ends every session of the user but the one with `keep_token_hash`."""
        statement = delete(PortalSession).where(PortalSession.user_id == user_id)
        if keep_token_hash is not None:
            statement = statement.where(PortalSession.token_hash != keep_token_hash)
        await self.session.execute(statement)

    async def lock_account(self, account_id: str) -> bool:
        """Locks the account's row until the transaction ends (PostgreSQL; SQLite has one
        writer at a time), so changes to its users are made one after another."""
        found = await self.session.scalar(
            select(Account.id).where(Account.id == account_id).with_for_update()
        )
        return found is not None

    async def delete_user_unless_last(self, account_id: str, user_id: str) -> bool:
        """Deletes the user if the account keeps another; whether it did. One statement, so
        the count and the delete see the same rows."""
        others = (
            select(func.count())
            .select_from(User)
            .where(User.account_id == account_id, User.id != user_id)
            .scalar_subquery()
        )
        result = await self.session.execute(
            delete(User).where(User.id == user_id, User.account_id == account_id, others > 0)
        )
        return bool(getattr(result, "rowcount", 0))
