"""Accounts and their portal users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rcsgate.accounts.repository import AccountRepository
from rcsgate.errors import AlreadyExists, Conflict, NotFound, ValidationFailed
from rcsgate.kit.cache import LocalCache
from rcsgate.kit.clock import Clock
from rcsgate.kit.crypto import SHARED_PASSWORDS, Passwords, hash_password, random_token, token_hash
from rcsgate.models import Account, PortalSession, User

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1000
SESSION_LIFETIME = timedelta(hours=12)
ACCOUNT_CACHE = "rcsgate.accounts"
# Verified against when the e-mail is unknown, so a miss costs as long as a wrong password.
_UNKNOWN_USER_HASH = hash_password("no such user, no such password")


async def create_account(
    session: AsyncSession,
    clock: Clock,
    *,
    name: str,
    email: str,
    currency: str,
    rate_limit: int,
    password: str | None = None,
    passwords: Passwords = SHARED_PASSWORDS,
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
        await add_user(session, clock, account, email=email, password=password, passwords=passwords)
    return account


async def sign_up(
    session: AsyncSession,
    clock: Clock,
    *,
    name: str,
    email: str,
    password: str,
    currency: str,
    rate_limit: int,
    passwords: Passwords,
) -> User:
    """A new account and its first user (the portal's sign-up)."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ValidationFailed.field("/name", "must be 1 to 200 characters")
    account = await create_account(
        session, clock, name=name, email=email, currency=currency, rate_limit=rate_limit
    )
    return await add_user(
        session, clock, account, email=email, password=password, passwords=passwords
    )


async def add_user(
    session: AsyncSession,
    clock: Clock,
    account: Account,
    *,
    email: str,
    password: str,
    passwords: Passwords,
) -> User:
    _check_password(password)
    if not _looks_like_email(email):
        raise ValidationFailed.field("/email", "must be an e-mail address")
    repository = AccountRepository(session)
    if await repository.user_by_email(email) is not None:
        raise AlreadyExists("A user with this e-mail address exists")
    user = User(
        account_id=account.id,
        email=email.lower(),
        password_hash=await passwords.hash(password),
        created_at=clock.now(),
    )
    repository.add(user)
    await session.flush()
    return user


AccountSummary = Row[str, str, str, Decimal, int, datetime]
AccountCache = LocalCache[str, AccountSummary]


def account_cache(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, ttl_seconds: float
) -> AccountCache:
    """The process's cache of what GET /v3/account shows (RCSGATE_ACCOUNT_CACHE_SECONDS)."""
    cache: AccountCache = LocalCache(clock, ttl_seconds)
    cache.install(sessionmaker, ACCOUNT_CACHE)
    return cache


async def account_summary(
    sessionmaker: async_sessionmaker[AsyncSession], cache: AccountCache, account_id: str
) -> AccountSummary:
    """What GET /v3/account shows: from this process's cache, else read as a plain row.

    The hot read opens no session at all while the entry lives; `forget_account` drops it
    when a change goes through this process, another process's change shows within the TTL.
    Requests that miss the entry together share one read.
    """

    async def read() -> AccountSummary | None:
        async with sessionmaker() as session:
            return await AccountRepository(session).summary(account_id)

    row, _read_here = await cache.get_or_load(account_id, read)
    if row is None:
        raise NotFound(f"No account {account_id}")
    return row


def _check_password(password: str, pointer: str = "/password") -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ValidationFailed.field(
            pointer, f"must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )


def forget_account(session: AsyncSession, account_id: str) -> None:
    """Every change to what GET /v3/account shows (name, balance, rate limit) calls this."""
    cache = LocalCache.of(session, ACCOUNT_CACHE)
    if cache is not None:
        cache.forget_at_commit(session, lambda row: row.id == account_id)


def _looks_like_email(email: str) -> bool:
    local, at, domain = email.strip().rpartition("@")
    return bool(at and local and "." in domain and " " not in email.strip()) and len(email) <= 320


async def get_account(session: AsyncSession, account_id: str) -> Account:
    account = await AccountRepository(session).get(account_id)
    if account is None:
        raise NotFound(f"No account {account_id}")
    return account


async def list_users(session: AsyncSession, account_id: str) -> list[User]:
    return await AccountRepository(session).users_of(account_id)


@dataclass(frozen=True, slots=True)
class LoggedIn:
    """A live portal session: who is logged in, and the CSRF token of their forms."""

    user_id: str
    account_id: str
    email: str
    csrf_token: str


async def log_in(
    session: AsyncSession, clock: Clock, passwords: Passwords, *, email: str, password: str
) -> tuple[str, LoggedIn] | None:
    """A new session's cookie token and the session, or None for a wrong e-mail or password."""
    user = await AccountRepository(session).user_by_email(email.strip())
    if user is None:
        await passwords.verify(_UNKNOWN_USER_HASH, password)
        return None
    if not await passwords.verify(user.password_hash, password):
        return None
    return await start_session(session, clock, user)


async def start_session(session: AsyncSession, clock: Clock, user: User) -> tuple[str, LoggedIn]:
    """A new session; the user's expired ones are deleted here, so rows do not pile up."""
    token = random_token("", 32)
    now = clock.now()
    repository = AccountRepository(session)
    await repository.delete_expired_sessions(user.id, now)
    row = PortalSession(
        token_hash=token_hash(token),
        user_id=user.id,
        csrf_token=random_token("", 32),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    repository.add_session(row)
    await session.flush()
    return token, LoggedIn(user.id, user.account_id, user.email, row.csrf_token)


async def logged_in(session: AsyncSession, clock: Clock, token: str) -> LoggedIn | None:
    """The session behind a cookie token, or None when unknown, ended or expired."""
    repository = AccountRepository(session)
    row = await repository.live_session(token_hash(token), clock.now())
    if row is None:
        return None
    user = await repository.user(row.user_id)
    if user is None:
        return None
    return LoggedIn(user.id, user.account_id, user.email, row.csrf_token)


async def log_out(session: AsyncSession, token: str) -> None:
    await AccountRepository(session).delete_session(token_hash(token))


async def change_password(
    session: AsyncSession,
    passwords: Passwords,
    viewer: LoggedIn,
    token: str,
    *,
    current: str,
    new: str,
    confirm: str,
) -> None:
    """The viewer's new password, once the current one is proven and the new one typed twice.
    Every other session of the user ends: whoever else knew the old password is out."""
    repository = AccountRepository(session)
    user = await repository.user(viewer.user_id)
    if user is None:
        raise NotFound(f"No user {viewer.user_id}")
    if not await passwords.verify(user.password_hash, current):
        raise ValidationFailed.field("/currentPassword", "is not your current password")
    _check_password(new, "/newPassword")
    if new != confirm:
        raise ValidationFailed.field("/confirmPassword", "does not match the new password")
    await repository.set_password_hash(user.id, await passwords.hash(new))
    await repository.delete_sessions_except(user.id, token_hash(token))


class LastUser(Conflict):
    """An account keeps at least one user (else nobody could log in to it)."""


async def remove_user(session: AsyncSession, account_id: str, user_id: str) -> User:
    """Removes a user of the account (another, or oneself) and ends their sessions at once;
    never the account's last user. Concurrent removals in one account run one after another
    (the account's row is locked), so two users removing each other cannot leave none. On
    `LastUser` the caller rolls back (the sessions were deleted first, for the foreign key)."""
    repository = AccountRepository(session)
    if not await repository.lock_account(account_id):
        raise NotFound(f"No account {account_id}")
    user = await repository.user(user_id)
    if user is None or user.account_id != account_id:
        raise NotFound(f"No user {user_id}")
    await repository.delete_sessions_except(user_id, None)
    if not await repository.delete_user_unless_last(account_id, user_id):
        raise LastUser("An account keeps at least one user")
    return user
