"""The one state machine of a message's status (API.md section 2.5).

Every change goes through `record`: it appends the step to the message's journey and moves the
status only forward, with one conditional UPDATE (`WHERE status IN <allowed predecessors>`), so
a receipt and a dispatch worker racing on the same message cannot move it backwards on either
database. A step that does not move the status (a late Delivered after Read, a Sent confirmed
after the receipt already arrived) is still recorded in the journey. `record_locked` is the
batch form for a caller that holds the messages' row locks and has read their statuses (the
receipts): it decides the moves from those statuses by the same `advances` and writes them all
with one UPDATE, still conditional on the status read.

A fallback is a new attempt on another channel: `new_attempt=True` lets `Sent` follow the RCS
attempt's `Expired` or `Revoked`, and the status and channel then follow the SMS attempt.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    Integer,
    String,
    Table,
    Update,
    bindparam,
    func,
    insert,
    literal,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause
from sqlalchemy.types import TypeEngine

from rcsgate.kit.db import UTCDateTime
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
# Rows per UPDATE on SQLite: a compound SELECT has at most 500 terms there.
SQLITE_ROWS = 500


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


async def record_locked(
    session: AsyncSession, current: Mapping[str, str], steps: Sequence[Step]
) -> None:
    """`record_steps` for steps on messages the caller has locked (in id order) and read:
    `current` is each one's status as read. Which steps move the status is decided here with
    `advances`, in `record_steps`' order (a Read and a Delivered in one batch: Delivered, then
    Read); then one UPDATE moves each message to its last status, one INSERT journals every
    step, and every move gets its own message.status event, in order, from the rows the UPDATE
    returns (Delivered then Read: sequences n+1 and n+2), with nothing read again. The UPDATE
    still asks for the status that was read, so a caller that did not lock the rows fails
    rather than moving a message backwards."""
    ordered = sorted(steps, key=lambda s: _order(s.status, s.new_attempt))
    moves = _moves(current, ordered)
    returned = await _move_all(session, current, moves)
    if len(returned) != len(moves):
        raise RuntimeError("a message to record changed status while it was locked")
    if ordered:
        await _journal(session, ordered)
    await webhooks.message_status_rows(
        session, [event for row in returned for event in _each_move(row, moves[row.id])]
    )


def _moves(current: Mapping[str, str], ordered: Sequence[Step]) -> dict[str, list[Step]]:
    """The steps that move their message, by message id, in the order they move it."""
    status = dict(current)
    moves: dict[str, list[Step]] = defaultdict(list)
    for step in ordered:
        if advances(status[step.message_id], step.status, new_attempt=step.new_attempt):
            status[step.message_id] = step.status
            moves[step.message_id].append(step)
    return moves


async def _move_all(
    session: AsyncSession, current: Mapping[str, str], moves: Mapping[str, list[Step]]
) -> list[webhooks.StatusRow]:
    if not moves:
        return []
    rows = [(mid, current[mid], moves[mid][-1], len(moves[mid])) for mid in sorted(moves)]
    dialect = session.get_bind().dialect.name
    chunks = [rows] if dialect == "postgresql" else _chunks(rows, SQLITE_ROWS)
    returned: list[webhooks.StatusRow] = []
    for chunk in chunks:
        source, params = _source(dialect, chunk)
        result = await session.execute(_move_from(source), params)
        returned += [webhooks.StatusRow._make(row) for row in result]
    return returned


def _move_from(v: FromClause) -> Update:
    """Each message from the status it was read in to its last, its sequence counted on by
    the number of moves (one message.status event each)."""
    return (
        update(MESSAGES)
        .where(MESSAGES.c.id == v.c.id, MESSAGES.c.status == v.c.prior)
        .values(
            status=v.c.status,
            channel=v.c.channel,
            operator=v.c.operator,
            status_reason=v.c.reason,
            modified_at=v.c.at,
            sequence=MESSAGES.c.sequence + v.c.moves,
        )
        .returning(*webhooks.STATUS_COLUMNS, webhooks.STATUS_URL_RETURNED)
    )


_MoveRow = tuple[str, str, Step, int]  # message id, status read, last step, number of moves
_SOURCE_TYPES: dict[str, TypeEngine[Any]] = {
    "id": String(),
    "prior": String(),
    "status": String(),
    "channel": String(),
    "operator": String(),
    "reason": String(),
    "at": UTCDateTime(),
    "moves": Integer(),
}


def _source(dialect: str, rows: Sequence[_MoveRow]) -> tuple[FromClause, dict[str, Any]]:
    """The rows as a table to update from: on PostgreSQL one array per column through
    `unnest`, so the statement and its plan are the same whatever the number of rows; on
    SQLite a UNION ALL of one-row SELECTs. Not a VALUES list in a WITH: SQLite names no
    VALUES columns but through a WITH, and Python's sqlite3 opens its implicit transaction
    only before a statement that starts with UPDATE (or INSERT, DELETE, REPLACE), so a
    WITH ... UPDATE would commit on its own, apart from the journal."""
    columns = [
        [mid for mid, _, _, _ in rows],
        [prior for _, prior, _, _ in rows],
        [step.status for _, _, step, _ in rows],
        [step.channel for _, _, step, _ in rows],
        [step.operator for _, _, step, _ in rows],
        [step.reason for _, _, step, _ in rows],
        [step.at for _, _, step, _ in rows],
        [n for _, _, _, n in rows],
    ]
    names = list(_SOURCE_TYPES)
    if dialect == "postgresql":
        arrays = [bindparam(f"v_{name}", type_=ARRAY(_SOURCE_TYPES[name])) for name in names]
        source = func.unnest(*arrays).table_valued(*names).render_derived(name="v")
        return source, {f"v_{name}": given for name, given in zip(names, columns, strict=True)}
    selects = [
        select(
            *(
                literal(value, _SOURCE_TYPES[name]).label(name)
                for name, value in zip(names, row, strict=True)
            )
        )
        for row in zip(*columns, strict=True)
    ]
    return union_all(*selects).subquery("v"), {}


def _chunks(rows: list[_MoveRow], size: int) -> list[list[_MoveRow]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def _each_move(row: webhooks.StatusRow, moved: Sequence[Step]) -> list[webhooks.StatusRow]:
    """The row as it stood after each of its moves: the last is the row returned."""
    first = row.sequence - len(moved)
    return [
        row._replace(
            status=step.status,
            channel=step.channel,
            operator=step.operator,
            status_reason=step.reason,
            modified_at=step.at,
            sequence=first + n,
        )
        for n, step in enumerate(moved, start=1)
    ]


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
