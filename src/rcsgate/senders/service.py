"""SMS sender IDs (originators) per account.

A send whose SMS would go out under a sender ID must name one the operator verified for the
caller's account (`rcsgate senders add`); otherwise anyone could text as anyone's brand. The
platform's own default sender (`RCSGATE_SMS_SENDER`) is always allowed: it is what an SMS
carries when neither the request nor the agent names one.
"""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.accounts.service import get_account
from rcsgate.errors import FieldError, Forbidden, NotFound, ValidationFailed
from rcsgate.kit.clock import Clock
from rcsgate.models import SmsSender
from rcsgate.senders.repository import SenderRepository

_ALPHANUMERIC = re.compile(r"^[A-Za-z0-9 ._-]{1,11}$")
MAX_NUMBER_DIGITS = 15


class SenderNotVerified(Forbidden):
    slug, title = "sms-sender-not-verified", "The SMS sender is not verified for this account"


def normalised(sender: str) -> str:
    """The stored form: a number loses its leading `+`; letters stay as given."""
    digits = sender.removeprefix("+")
    if digits.isdigit() and len(digits) <= MAX_NUMBER_DIGITS:
        return digits
    if _ALPHANUMERIC.match(sender) and not sender.isdigit():
        return sender
    raise ValidationFailed.field(
        "/sender", "must be 1-11 letters and digits, or a number of up to 15 digits"
    )


async def require_verified(
    session: AsyncSession, account_id: str, sender: str, platform_sender: str, pointer: str
) -> None:
    """Raise `SenderNotVerified` naming `pointer` unless the account may send as `sender`."""
    wanted = normalised(sender)
    if wanted == platform_sender.removeprefix("+"):  # the setting is not held to the rules
        return
    if not await SenderRepository(session).is_verified(account_id, wanted):
        message = f"{sender!r} is not a verified SMS sender of this account"
        raise SenderNotVerified(f"{pointer}: {message}", errors=[FieldError(pointer, message)])


async def add_sender(
    session: AsyncSession,
    clock: Clock,
    account_id: str,
    sender: str,
    *,
    verified_by: str | None,
) -> SmsSender:
    """Add a sender to the account, verified by `verified_by` (None: added, not yet verified);
    adding one that exists verifies it if it was not."""
    await get_account(session, account_id)  # NotFound for an unknown account
    repository = SenderRepository(session)
    now, value = clock.now(), normalised(sender)
    found = await repository.get(account_id, value)
    if found is None:
        found = SmsSender(account_id=account_id, sender=value, created_at=now)
        repository.add(found)
    if verified_by is not None and found.verified_at is None:
        found.verified_at, found.verified_by = now, verified_by
    await session.flush()
    return found


async def verify_sender(
    session: AsyncSession, clock: Clock, account_id: str, sender: str, verified_by: str
) -> SmsSender:
    found = await _find(session, account_id, sender)
    if found.verified_at is None:
        found.verified_at, found.verified_by = clock.now(), verified_by
    return found


async def list_senders(session: AsyncSession, account_id: str) -> list[SmsSender]:
    return await SenderRepository(session).for_account(account_id)


async def remove_sender(session: AsyncSession, account_id: str, sender: str) -> SmsSender:
    """Messages already accepted keep the sender they were accepted with."""
    found = await _find(session, account_id, sender)
    await SenderRepository(session).delete(found)
    await session.flush()
    return found


async def _find(session: AsyncSession, account_id: str, sender: str) -> SmsSender:
    found = await SenderRepository(session).get(account_id, normalised(sender))
    if found is None:
        raise NotFound(f"Account {account_id} has no SMS sender {sender!r}")
    return found
