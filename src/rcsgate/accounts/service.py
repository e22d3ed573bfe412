"""Accounts and their portal users."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.accounts.repository import AccountRepository
from rcsgate.errors import AlreadyExists, NotFound, ValidationFailed
from rcsgate.kit.clock import Clock
from rcsgate.kit.crypto import hash_password
from rcsgate.models import Account, User

MIN_PASSWORD_LENGTH = 10


async def create_account(
    session: AsyncSession,
    clock: Clock,
    *,
    name: str,
    email: str,
    currency: str,
    rate_limit: int,
    password: str | None = None,
) -> Account:
    """A new account; with a password, also its first portal user (log-in by e-mail)."""
    if rate_limit < 1:
        raise ValidationFailed.field("/rateLimit", "must be at least 1")
    repository = AccountRepository(session)
    account = Account(
        name=name,
        email=email.lower(),
        currency=currency,
        balance=Decimal(0),
        rate_limit=rate_limit,
        created_at=clock.now(),
    )
    repository.add(account)
    await session.flush()
    if password is not None:
        await add_user(session, clock, account, email=email, password=password)
    return account


async def add_user(
    session: AsyncSession, clock: Clock, account: Account, *, email: str, password: str
) -> User:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed.field(
            "/password", f"must be at least {MIN_PASSWORD_LENGTH} characters"
        )
    repository = AccountRepository(session)
    if await repository.user_by_email(email) is not None:
        raise AlreadyExists("A user with this e-mail address exists")
    user = User(
        account_id=account.id,
        email=email.lower(),
        password_hash=hash_password(password),
        created_at=clock.now(),
    )
    repository.add(user)
    await session.flush()
    return user


async def account_summary(
    session: AsyncSession, account_id: str
) -> Row[str, str, str, Decimal, int, datetime]:
    """What GET /v3/account shows, read without loading the ORM object."""
    row = await AccountRepository(session).summary(account_id)
    if row is None:
        raise NotFound(f"No account {account_id}")
    return row
