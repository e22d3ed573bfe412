"""Which account an SMS reply belongs to.

An MO SMS names no agent: only the number it was sent to (the sender of the SMS it answers)
and the number it came from. Every SMS we submit records that pair for the sending agent
(`sms_reply_routes`, written with the Sent step), and a reply goes to the one account that
used the pair, to its agent that used it last. A reply whose pair no account used, or several
accounts used (a shared sender), is not guessed: the caller keeps it as unroutable.

Routes are recorded from the release that added them on: a reply to an SMS sent before it has
no route and is kept as unroutable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.kit.db import upsert
from rcsgate.models import Agent, SmsReplyRoute, UnroutableInbound, UnroutableReason

ROUTES: Table = SmsReplyRoute.__table__  # type: ignore[assignment]
_KEY = ("operator", "sender", "recipient", "agent_id")


@dataclass(frozen=True, slots=True)
class SmsSent:
    """An agent's SMS went out through `operator` from `sender` to `recipient`."""

    operator: str
    sender: str
    recipient: str
    agent_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ReplyRoute:
    agent_id: str | None  # None: unroutable, for `reason`
    reason: UnroutableReason | None
    accounts: int  # how many accounts used the sender with the number


def address(number: str) -> str:
    """A sender or number as SMPP carries it (an international number without its `+`)."""
    return number.strip().removeprefix("+")


async def remember(session: AsyncSession, sent: Iterable[SmsSent]) -> None:
    """Record (or refresh) the routes of a batch's SMS: one query for the agents' accounts,
    one upsert, the rows in key order so two batches never wait on each other in a cycle."""
    latest: dict[tuple[str, str, str, str], datetime] = {}
    for s in sent:
        key = (s.operator, address(s.sender), address(s.recipient), s.agent_id)
        latest[key] = max(s.at, latest.get(key, s.at))
    if not latest:
        return
    agents = select(Agent.id, Agent.account_id).where(Agent.id.in_({key[3] for key in latest}))
    accounts = dict((await session.execute(agents)).all())
    rows = [
        {**dict(zip(_KEY, key, strict=True)), "account_id": accounts[key[3]], "last_sent_at": at}
        for key, at in sorted(latest.items())
    ]
    connection = await session.connection()
    await session.execute(upsert(connection.dialect, ROUTES, _KEY, ["last_sent_at"]), rows)


async def route(session: AsyncSession, operator: str, to: str, msisdn: str) -> ReplyRoute:
    """The agent a reply from `msisdn` to `to` (through `operator`) belongs to."""
    rows: Sequence[tuple[str, str, datetime]] = (
        await session.execute(
            select(SmsReplyRoute.account_id, SmsReplyRoute.agent_id, SmsReplyRoute.last_sent_at)
            .where(
                SmsReplyRoute.operator == operator,
                SmsReplyRoute.sender == address(to),
                SmsReplyRoute.recipient == address(msisdn),
            )
            .order_by(SmsReplyRoute.last_sent_at.desc(), SmsReplyRoute.agent_id)
        )
    ).all()
    accounts = len({account_id for account_id, _, _ in rows})
    if accounts == 0:
        return ReplyRoute(None, UnroutableReason.NO_ROUTE, 0)
    if accounts > 1:
        return ReplyRoute(None, UnroutableReason.AMBIGUOUS, accounts)
    return ReplyRoute(rows[0][1], None, 1)  # within the account, the agent that wrote last


async def unroutable(session: AsyncSession, limit: int) -> list[UnroutableInbound]:
    """The latest replies kept for operators, newest first."""
    found = await session.scalars(
        select(UnroutableInbound)
        .order_by(UnroutableInbound.received_at.desc(), UnroutableInbound.id.desc())
        .limit(limit)
    )
    return list(found)


__all__ = ["ReplyRoute", "SmsSent", "address", "remember", "route", "unroutable"]
