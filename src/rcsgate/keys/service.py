"""API keys: made random with a recognisable prefix, kept only as a hash, shown once."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.errors import FieldError, NotFound, ValidationFailed
from rcsgate.keys.repository import KeyRepository
from rcsgate.kit.clock import Clock
from rcsgate.kit.crypto import random_token, token_hash
from rcsgate.kit.net import IPNetwork, parse_network
from rcsgate.models import ApiKey

TOKEN_PREFIX = "rcs_"  # noqa: S105 - a public marker, not a secret
SHOWN_PREFIX_LENGTH = 12
MAX_ALLOWED_IPS = 100
# last_used_at is written at most this often per key, to keep writes off the hot path.
TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key, its account, and what the account may do."""

    key_id: str
    account_id: str
    rate_limit: int
    allowed_networks: tuple[IPNetwork, ...]
    currency: str = "SEK"
    last_used_at: datetime | None = None  # as read with the key


def use_is_due(principal: Principal, now: datetime) -> bool:
    """Whether a use now should be recorded: last use is kept to the minute, not per request."""
    last = principal.last_used_at
    return last is None or now - last >= TOUCH_INTERVAL


def parse_allowed_ips(values: Sequence[str], pointer: str = "/allowedIps") -> list[str]:
    """Normalised addresses and CIDR ranges; every bad entry is named."""
    errors: list[FieldError] = []
    normalised: list[str] = []
    if len(values) > MAX_ALLOWED_IPS:
        errors.append(FieldError(pointer, f"at most {MAX_ALLOWED_IPS} entries"))
    for index, value in enumerate(values):
        try:
            normalised.append(str(parse_network(value)))
        except ValueError:
            errors.append(
                FieldError(f"{pointer}/{index}", f"{value!r} is not an IP address or CIDR range")
            )
    if errors:
        raise ValidationFailed("Invalid IP restrictions", errors=errors)
    return list(dict.fromkeys(normalised))


async def create_key(
    session: AsyncSession,
    clock: Clock,
    *,
    account_id: str,
    name: str,
    allowed_ips: Sequence[str] = (),
) -> tuple[ApiKey, str]:
    """The new key and its token; the token exists only in this return value."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailed.field("/name", "must be 1 to 100 characters")
    token = random_token(TOKEN_PREFIX)
    key = ApiKey(
        account_id=account_id,
        name=name,
        prefix=token[:SHOWN_PREFIX_LENGTH],
        token_hash=token_hash(token),
        allowed_ips=parse_allowed_ips(allowed_ips),
        created_at=clock.now(),
    )
    KeyRepository(session).add(key)
    await session.flush()
    return key, token


async def list_keys(session: AsyncSession, account_id: str) -> list[ApiKey]:
    return await KeyRepository(session).for_account(account_id)


async def record_use(session: AsyncSession, clock: Clock, key_id: str) -> None:
    """A request passed the key's checks: its last use, written at most once a minute."""
    await KeyRepository(session).touch(key_id, clock.now(), TOUCH_INTERVAL)


async def revoke_key(session: AsyncSession, clock: Clock, account_id: str, key_id: str) -> ApiKey:
    key = await KeyRepository(session).get(account_id, key_id)
    if key is None:
        raise NotFound(f"No API key {key_id}")
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        await session.flush()
    return key


async def authenticate(session: AsyncSession, hashed: str) -> Principal | None:
    """The principal for a live key's token hash, or None for an unknown or revoked one."""
    found = await KeyRepository(session).live_by_hash(hashed)
    if found is None:
        return None
    key, rate_limit, currency = found
    return Principal(
        key_id=key.id,
        account_id=key.account_id,
        rate_limit=rate_limit,
        allowed_networks=tuple(ipaddress.ip_network(v) for v in key.allowed_ips),
        currency=currency,
        last_used_at=key.last_used_at,
    )
