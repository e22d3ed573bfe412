"""The one state machine of a message's status (API.md section 2.5).

Every change goes through `record`: it appends the step to the message's journey and moves the
status only forward, with one conditional UPDATE (`WHERE status IN <allowed predecessors>`), so
a receipt and a dispatch worker racing on the same message cannot move it backwards on either
database. A step that does not move the status (a late Delivered after Read, a Sent confirmed
after the receipt already arrived) is still recorded in the journey.

A fallback is a new attempt on another channel: `new_attempt=True` lets `Sent` follow the RCS
attempt's `Expired` or `Revoked`, and the status and channel then follow the SMS attempt.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import CursorResult, Table, Update, bindparam, insert, literal_column, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from rcsgate.kit.ids import new_id
from rcsgate.models import Message, MessageEvent
from rcsgate.webhooks import emit as webhooks

# Progress along the way to the phone; a status moves only to a higher rank.
RANK = {"Scheduled": 0, "Queued": 1, "Sent": 2, "Delivered": 3, "Read": 4}
FINAL = frozenset({"Read", "Failed", "Expired", "Revoked", "RevokeFailed", "Cancelled"})
ENDINGS_BEFORE_DELIVERY = frozenset({"Failed", "Expired", "Revoked"})
OUTBOUND = frozenset(RANK) | FINAL
MESSAGES = cast(Table, Message.__table__)
MESSAGE_EVENTS = cast(Table, MessageEvent.__table__)


def advances(current: str, new: str, *, new_attempt: bool = False) -> bool:
    """Whether a message in `current` moves to `new`."""
    if new_attempt:
        return new == "Sent" and current in {"Queued", "Sent", "Expired", "Revoked", "Failed"}
    if current in FINAL:
        return False
    if new == "Cancelled":
        return current in {"Scheduled", "Queued"}
    if new in ENDINGS_BEFORE_DELIVERY:
        return RANK[current] < RANK["Delivered"]
    if new == "RevokeFailed":
        return current == "Delivered"
    return RANK[new] > RANK[current]


def predecessors(new: str, *, new_attempt: bool = False) -> tuple[str, ...]:
    return tuple(sorted(s for s in OUTBOUND if advances(s, new, new_attempt=new_attempt)))


@dataclass(frozen=True, slots=True)
class Step:
    message_id: str
    status: str
    channel: str
    at: datetime
    operator: str | None = None
    reason: str | None = None
    new_attempt: bool = False


async def record(session: AsyncSession, step: Step) -> bool:
    """Append `step` to the journey; True when it also moved the status."""
    moved = await _moved(session, step)
    await _journal(session, [step])
    if moved:
        await webhooks.message_status(session, [step.message_id], step.status)
    return moved


async def record_if_moved(session: AsyncSession, step: Step) -> bool:
    """`record` for a step that is nothing unless it moves the status: an ending a job decided
    (Expired, Revoked). Of two jobs that both decided one (the expiry and the fallback check
    due together), only the one whose conditional UPDATE moved the status writes its step and
    gets True; the other leaves no trace, so its follow-ups (the SMS) are not queued twice."""
    moved = await _moved(session, step)
    if moved:
        await _journal(session, [step])
        await webhooks.message_status(session, [step.message_id], step.status)
    return moved


async def _moved(session: AsyncSession, step: Step) -> bool:
    result = await session.execute(
        _move(step.status, step.new_attempt).where(MESSAGES.c.id == step.message_id),
        _values(step),
    )
    return bool(result.rowcount) if isinstance(result, CursorResult) else False


async def record_many(session: AsyncSession, steps: Sequence[Step]) -> None:
    """`record` for a batch of steps of one status, in a constant number of statements."""
    if not steps:
        return
    first = steps[0]
    assert all(s.status == first.status and s.new_attempt == first.new_attempt for s in steps)
    statement = _move(first.status, first.new_attempt).where(MESSAGES.c.id == bindparam("mid"))
    await session.execute(statement, [{**_values(s), "mid": s.message_id} for s in steps])
    await _journal(session, steps)
    # Rows that did not move keep a sequence already emitted: the emission skips them.
    await webhooks.message_status(session, [s.message_id for s in steps], first.status)


async def record_steps(session: AsyncSession, steps: Sequence[Step]) -> None:
    """`record` for steps of any statuses: one `record_many` per status, along the way to the
    phone (Sent before Delivered before Read), each in message-id order, the order every
    writer locks messages in."""
    groups: dict[tuple[str, bool], list[Step]] = defaultdict(list)
    for step in sorted(steps, key=lambda s: s.message_id):
        groups[(step.status, step.new_attempt)].append(step)
    for key in sorted(groups, key=lambda key: _order(*key)):
        await record_many(session, groups[key])


def _order(status: str, new_attempt: bool) -> tuple[int, bool]:
    return RANK.get(status, len(RANK)), new_attempt


def _move(status: str, new_attempt: bool) -> Update:
    # Core, not ORM: an ORM UPDATE given many parameter sets becomes an update by primary key
    # and drops the status condition this depends on.
    return (
        update(MESSAGES)
        .where(MESSAGES.c.status.in_(_literals(predecessors(status, new_attempt=new_attempt))))
        .values(
            status=bindparam("s_status"),
            channel=bindparam("s_channel"),
            operator=bindparam("s_operator"),
            status_reason=bindparam("s_reason"),
            modified_at=bindparam("s_at"),
            sequence=MESSAGES.c.sequence + 1,  # numbers the message.status webhooks
        )
    )


def _literals(statuses: tuple[str, ...]) -> list[ColumnElement[str]]:
    """The statuses inline in the SQL: a list parameter cannot go with many parameter sets.
    They are this module's own constants, never input."""
    return [literal_column(f"'{status}'") for status in statuses]


def _values(step: Step) -> dict[str, object]:
    return {
        "s_status": step.status,
        "s_channel": step.channel,
        "s_operator": step.operator,
        "s_reason": step.reason,
        "s_at": step.at,
    }


async def _journal(session: AsyncSession, steps: Sequence[Step]) -> None:
    # The table, not the ORM class: an ORM bulk insert builds a mapper state per row.
    await session.execute(
        insert(MESSAGE_EVENTS),
        [
            {
                "id": new_id(),
                "message_id": s.message_id,
                "status": s.status,
                "channel": s.channel,
                "operator": s.operator,
                "reason": s.reason,
                "at": s.at,
            }
            for s in steps
        ],
    )
