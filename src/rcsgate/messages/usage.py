"""Usage: an account's outbound messages and their cost per UTC day and channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.kit.clock import Clock
from rcsgate.messages.repository import MessageRepository

CHANNELS = ("RCS", "SMS")


@dataclass(frozen=True, slots=True)
class DayUsage:
    day: date
    messages: dict[str, int]
    cost: dict[str, Decimal]

    @property
    def total_messages(self) -> int:
        return sum(self.messages.values())

    @property
    def total_cost(self) -> Decimal:
        return sum(self.cost.values(), Decimal(0))


@dataclass(frozen=True, slots=True)
class Usage:
    days: list[DayUsage] = field(default_factory=list)

    @property
    def total_messages(self) -> int:
        return sum(day.total_messages for day in self.days)

    @property
    def total_cost(self) -> Decimal:
        return sum((day.total_cost for day in self.days), Decimal(0))


async def daily_usage(
    session: AsyncSession, clock: Clock, account_id: str, days: int = 30
) -> Usage:
    """The last `days` UTC days up to today, every day and channel present (zeros included)."""
    today = clock.now().astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(), tzinfo=UTC)
    until = datetime.combine(today + timedelta(days=1), time(), tzinfo=UTC)
    rows = await MessageRepository(session).usage(account_id, since, until)
    found = {(day, channel): (count, Decimal(cost)) for day, channel, count, cost in rows}
    result = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        key = day.isoformat()
        numbers = {c: found.get((key, c), (0, Decimal(0))) for c in CHANNELS}
        result.append(
            DayUsage(
                day,
                {c: n for c, (n, _) in numbers.items()},
                {c: v for c, (_, v) in numbers.items()},
            )
        )
    return Usage(result)
