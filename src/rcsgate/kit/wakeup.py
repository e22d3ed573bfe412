"""Wake-ups: a loop that waits for work in a table sleeps until work is written, not on a timer.

A `Doorbell` stands for one kind of work (jobs, webhook deliveries) and rings:
- in this process, right after the commit of a session that inserted into the bell's table
  (`ring_on_insert`: session events on the context's sessionmaker, so every writer rings
  without knowing of it: the accept committers, the relay's follow-ups, the receipts), or
  that asked for it (`announce`, for work made by an UPDATE);
- from other processes, on PostgreSQL: a trigger on the table NOTIFYs the bell's channel at
  the commit of every transaction that inserted into it (migration 0008), and `listening`
  keeps a connection LISTENing that rings the bell on each notification.

Ringing is never needed for correctness, only for promptness: a waiting loop also wakes when
the next work it knows of comes due, and at the latest after its longest wait (work written
while the listener reconnects, or by another process on SQLite, which has no NOTIFY). Rings
are after the commit, never before: a loop woken before the rows are visible would find
nothing and sleep past them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import structlog
from sqlalchemy import Table, event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

from rcsgate.kit.backoff import Backoff

log = structlog.get_logger(__name__)
_RINGS = "rcsgate.kit.wakeup.rings"  # session.info: the channels to ring after its commit
RECONNECT = Backoff(base=0.5, cap=30.0, factor=2.0, jitter=0.1)
# The driver's own options in an engine's connect arguments, which asyncpg.connect refuses.
_NOT_ASYNCPG = ("async_creator_fn", "prepared_statement_cache_size", "prepared_statement_name_func")


class Doorbell:
    """Wakes the loops waiting for one kind of work. `ring` may be called from any code on
    the event loop's thread (a session event runs there, inside SQLAlchemy's greenlet)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel  # also the PostgreSQL NOTIFY channel
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def ring(self) -> None:
        running = asyncio._get_running_loop()
        for loop, woken in list(self._waiters):
            if loop is running:
                woken.set()
            elif not loop.is_closed():
                loop.call_soon_threadsafe(woken.set)

    @contextlib.contextmanager
    def waiter(self) -> Iterator[asyncio.Event]:
        """An event of the caller's own, set at each ring while the block runs (one per
        loop: a ring wakes every loop waiting on the bell). The loop clears it before it
        looks for work, so a ring that comes while it looks is not lost."""
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        self._waiters.add(waiter)
        try:
            yield waiter[1]
        finally:
            self._waiters.discard(waiter)


async def wait_for_any(seconds: float, *events: asyncio.Event) -> None:
    """Until one of `events` is set, or `seconds` have passed."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=max(seconds, 0.0), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def ring_on_insert(
    sessionmaker: async_sessionmaker[AsyncSession], bells: Mapping[Table, Doorbell]
) -> None:
    """Ring each bell after the commit of any session of `sessionmaker` that inserted into
    its table, by a statement (Core or ORM) or by flushing new objects. The sessionmaker has
    a session class of its own (kit.db.create_sessionmaker), so the events are its alone."""
    by_table = {table.name: bell for table, bell in bells.items()}
    channels = {bell.channel: bell for bell in bells.values()}
    session_class = sessionmaker.kw["sync_session_class"]

    def executed(state: ORMExecuteState) -> None:
        if state.is_insert:
            name = getattr(state.statement.table, "name", None)  # type: ignore[attr-defined]
            if name in by_table:
                _mark(state.session, by_table[name].channel)

    def flushed(session: Session, _flush: UOWTransaction) -> None:
        for instance in session.new:
            table = getattr(type(instance), "__table__", None)
            name = getattr(table, "name", None)
            if name in by_table:
                _mark(session, by_table[name].channel)

    def committed(session: Session) -> None:
        for channel in session.info.pop(_RINGS, ()):
            if channel in channels:
                channels[channel].ring()

    def rolled_back(session: Session, previous: SessionTransaction) -> None:
        if previous.parent is None:  # the whole transaction, not a savepoint
            session.info.pop(_RINGS, None)

    event.listen(session_class, "do_orm_execute", executed)
    event.listen(session_class, "after_flush", flushed)
    event.listen(session_class, "after_commit", committed)
    event.listen(session_class, "after_soft_rollback", rolled_back)


async def announce(session: AsyncSession, channel: str) -> None:
    """Ring `channel`'s bell once the session's transaction commits, in this process and (on
    PostgreSQL, by a NOTIFY that is delivered at the commit) in every other: for work a writer
    makes without inserting into the bell's table (an UPDATE that makes rows due again)."""
    _mark(session.sync_session, channel)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_notify(channel, "")))


def _mark(session: Session, channel: str) -> None:
    session.info.setdefault(_RINGS, set()).add(channel)


@contextlib.asynccontextmanager
async def listening(engine: AsyncEngine, bell: Doorbell) -> AsyncIterator[None]:
    """While the block runs, ring `bell` at each NOTIFY on its channel from any process
    (PostgreSQL; nothing on SQLite). A connection of its own, outside the pool, reconnected
    after a loss; each (re)connection rings once, for what was written while it was away."""
    if engine.dialect.name != "postgresql":
        yield
        return
    task = asyncio.create_task(_listen(engine, bell), name=f"listen-{bell.channel}")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _listen(engine: AsyncEngine, bell: Doorbell) -> None:
    _, options = engine.dialect.create_connect_args(engine.url)
    options = {k: v for k, v in options.items() if k not in _NOT_ASYNCPG}
    failures = 0
    while True:
        try:
            connection = await asyncpg.connect(**options)
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            failures += 1
            log.warning("wakeup.listen_failed", channel=bell.channel, error=repr(error))
            await asyncio.sleep(RECONNECT.delay(failures))
            continue
        try:
            await _until_lost(connection, bell)
            failures = 0
        except (OSError, asyncpg.PostgresError) as error:
            failures += 1
            log.warning("wakeup.listen_lost", channel=bell.channel, error=repr(error))
        finally:
            connection.terminate()
        await asyncio.sleep(RECONNECT.delay(max(failures, 1)))


async def _until_lost(connection: asyncpg.Connection, bell: Doorbell) -> None:
    lost = asyncio.Event()

    def notified(*_args: Any) -> None:
        bell.ring()

    connection.add_termination_listener(lambda _connection: lost.set())
    await connection.add_listener(bell.channel, notified)
    bell.ring()
    while not connection.is_closed():
        # The termination listener is the news of a loss; the check is for a loss it missed.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(lost.wait(), 30.0)
