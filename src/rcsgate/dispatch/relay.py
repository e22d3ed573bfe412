"""The durable job queue: claim due jobs in batches with a lease, run them, retry or
dead-letter them. All of its state is in the `jobs` table.

Leases. Claiming a job moves its `run_at` to the end of the lease and stamps `locked_by`, in one
UPDATE. A worker that dies leaves the job to come due again when the lease ends, so another
worker (or the same one restarted) catches up; no separate sweeper is needed. On PostgreSQL the
claim skips rows other claimers hold (`FOR UPDATE SKIP LOCKED`), so many workers share a queue;
SQLite serialises writers, which makes its one UPDATE a claim of its own.

Outcomes. A handler gets a batch of jobs of one kind and returns one outcome per job: done
(the row is deleted), retry at a time (kept, with the error), or dead (kept as `dead` for
inspection). Only the relay loop holding the lease may settle a job: each loop has a holder
id of its own (`worker_name`: host, process and a random part, so the loops of one process are
told apart), and a loop that overran its lease finds its rows taken and leaves them to their new
owner.

Exactly one effect. A job that wrote anything settles itself in the transaction of its effects
(`settle_in`, which answers `SETTLED`): the effects commit only while the claim is still held,
and together with the job's end, so a handler run twice on one claim, a settle that fails after
the handler committed, or a claim overtaken after its lease ran out cannot write them twice. A
handler whose work is an external call first asks whether its claims are still held (`held`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import ColumnElement, Table, and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rcsgate.kit.backoff import Backoff
from rcsgate.kit.clock import Clock
from rcsgate.kit.wakeup import Doorbell, wait_for_any
from rcsgate.models import Job

log = structlog.get_logger(__name__)
# Statements on the table, not the ORM class: an ORM UPDATE or DELETE costs the ORM's bulk
# machinery on every batch and synchronises nothing this module needs.
JOBS = cast(Table, Job.__table__)


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int  # including this one
    holder: str  # the relay loop that claimed it: only it may settle the job


@dataclass(frozen=True, slots=True)
class Done:
    pass


@dataclass(frozen=True, slots=True)
class Retry:
    at: datetime
    error: str


@dataclass(frozen=True, slots=True)
class Dead:
    error: str


@dataclass(frozen=True, slots=True)
class Settled:
    """Nothing left for the relay to settle: the handler settled the job in the transaction of
    its effects (`settle_in`), or found its claim no longer held."""


Outcome = Done | Retry | Dead | Settled
DONE = Done()
SETTLED = Settled()
BatchHandler = Callable[[Sequence[ClaimedJob]], Awaitable[Sequence[Outcome]]]


def worker_name() -> str:
    """A holder id of its own for each lease loop: the loops of one process share its host and
    pid, so a random part tells them apart (and a restarted process from its past self)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def _claim_of(job: ClaimedJob) -> ColumnElement[bool]:
    return and_(Job.id == job.id, Job.locked_by == job.holder, Job.attempts == job.attempts)


async def held(session: AsyncSession, jobs: Sequence[ClaimedJob]) -> set[str]:
    """The ids of `jobs` whose claims are still held: a job settled since (by an earlier run of
    the same claim) or claimed by another loop is not to be run again."""
    if not jobs:
        return set()
    rows = await session.execute(
        select(Job.id, Job.locked_by, Job.attempts).where(Job.id.in_([j.id for j in jobs]))
    )
    claims = {(job.id, job.holder, job.attempts) for job in jobs}
    return {job_id for job_id, holder, attempts in rows if (job_id, holder, attempts) in claims}


async def settle_in(
    session: AsyncSession, clock: Clock, results: Sequence[tuple[ClaimedJob, Outcome]]
) -> set[str]:
    """Settle jobs in the caller's transaction, the one that writes their effects; the ids of
    those whose claims were still held, the only ones whose effects may be written. Run it
    before writing the effects: on SQLite its write takes the database's write lock, on
    PostgreSQL it locks the job rows, so a second copy waits and then finds nothing held."""
    settled: set[str] = set()
    done: dict[tuple[str, int], list[str]] = defaultdict(list)
    for job, outcome in results:
        if isinstance(outcome, Done):
            done[(job.holder, job.attempts)].append(job.id)
    # One DELETE per claim (a batch is one claim; a retried job's attempts differ), not per job.
    for (holder, attempts), ids in done.items():
        rows = await session.execute(
            delete(JOBS)
            .where(Job.id.in_(ids), Job.locked_by == holder, Job.attempts == attempts)
            .returning(Job.id)
        )
        settled.update(rows.scalars())
    now = clock.now()
    for job, outcome in results:
        if isinstance(outcome, Retry | Dead):
            row = await session.execute(
                update(JOBS).where(_claim_of(job)).values(**_kept(outcome, now)).returning(Job.id)
            )
            if row.first() is not None:
                settled.add(job.id)
                _log_dead(job, outcome)
    return settled


def _log_dead(job: ClaimedJob, outcome: Outcome) -> None:
    if isinstance(outcome, Dead):
        log.warning("relay.dead_letter", job=job.id, kind=job.kind, error=outcome.error)


@dataclass
class Relay:
    """Runs the jobs of one queue with the handlers given per job kind."""

    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    handlers: Mapping[str, BatchHandler]
    queue: str
    batch_size: int = 200
    lease: timedelta = timedelta(seconds=60)
    # Unknown failures (a handler that raised) are retried on this schedule, then dead.
    backoff: Backoff = field(default_factory=Backoff)
    max_attempts: int = 10
    name: str = field(default_factory=worker_name)
    # Rung when a job is committed (kit.wakeup); run_forever sleeps on it between batches.
    bell: Doorbell | None = None
    longest_wait: float = 1.0  # between looks while idle, for jobs no bell announced

    async def claim(self) -> list[ClaimedJob]:
        now = self.clock.now()
        due = (
            select(Job.id)
            .where(Job.state == "ready", Job.queue == self.queue, Job.run_at <= now)
            .order_by(Job.run_at)
            .limit(self.batch_size)
        )
        async with self.sessionmaker.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            rows = await session.execute(
                update(JOBS)
                .where(Job.id.in_(due.scalar_subquery()))
                .values(run_at=now + self.lease, locked_by=self.name, attempts=Job.attempts + 1)
                .returning(Job.id, Job.kind, Job.payload, Job.attempts)
            )
            return [ClaimedJob(i, kind, data, n, self.name) for i, kind, data, n in rows]

    async def run_once(self) -> int:
        """Claim one batch and run it; the number of jobs claimed."""
        started = time.perf_counter()
        jobs = await self.claim()
        if not jobs:
            return 0
        claimed = time.perf_counter()
        by_kind: dict[str, list[ClaimedJob]] = defaultdict(list)
        for job in jobs:
            by_kind[job.kind].append(job)
        results = await asyncio.gather(*(self._run_kind(k, js) for k, js in by_kind.items()))
        handled = time.perf_counter()
        await self.settle([pair for result in results for pair in result])
        log.debug(
            "relay.batch",
            jobs={kind: len(js) for kind, js in by_kind.items()},
            claim_ms=round(1000 * (claimed - started), 1),
            handle_ms=round(1000 * (handled - claimed), 1),
            settle_ms=round(1000 * (time.perf_counter() - handled), 1),
        )
        return len(jobs)

    async def run_until_idle(self, max_batches: int = 1000) -> int:
        """Run batches until nothing is due (tests and the catch-up after a start)."""
        total = 0
        for _ in range(max_batches):
            claimed = await self.run_once()
            if not claimed:
                break
            total += claimed
        return total

    async def run_forever(self, stop: asyncio.Event, idle: float = 0.05) -> None:
        """Run batches while there are any; in between, wait for the doorbell (a job was
        committed: kit.wakeup), for the next job known to come due, or `longest_wait` at
        most, whichever is first. Without a bell, look again every `idle` seconds."""
        with self.bell.waiter() if self.bell else contextlib.nullcontext() as rung:
            while not stop.is_set():
                if rung is not None:
                    rung.clear()  # a job committed from here on rings it again
                try:
                    if await self.run_once():
                        continue
                    wait = idle if rung is None else await self._until_due(idle)
                except Exception:
                    log.exception("relay.batch_failed", queue=self.queue)
                    wait = idle
                await wait_for_any(wait, stop, *([rung] if rung is not None else []))

    async def _until_due(self, shortest: float) -> float:
        """Seconds until the next ready job of the queue comes due (a retry, an expired lease,
        a scheduled send), within [shortest, longest_wait]. A job due already that the claim
        did not get is locked by another claimer: look again shortly."""
        async with self.sessionmaker() as session:
            due = await session.scalar(
                select(func.min(Job.run_at)).where(Job.state == "ready", Job.queue == self.queue)
            )
        if due is None:
            return self.longest_wait
        seconds = (due - self.clock.now()).total_seconds()
        return min(max(seconds, shortest), self.longest_wait)

    async def _run_kind(
        self, kind: str, jobs: list[ClaimedJob]
    ) -> list[tuple[ClaimedJob, Outcome]]:
        handler = self.handlers.get(kind)
        if handler is None:
            return [(job, Dead(f"no handler for job kind {kind!r}")) for job in jobs]
        try:
            outcomes = await handler(jobs)
        except Exception as error:
            log.exception("relay.handler_failed", kind=kind, jobs=len(jobs))
            return [(job, self.failed(job, repr(error))) for job in jobs]
        return list(zip(jobs, outcomes, strict=True))

    def failed(self, job: ClaimedJob, error: str) -> Outcome:
        """Retry on the relay's schedule, or dead once attempts are used up."""
        if job.attempts >= self.max_attempts:
            return Dead(error)
        delay = self.backoff.delay(job.attempts)
        return Retry(self.clock.now() + timedelta(seconds=delay), error)

    async def settle(self, results: Sequence[tuple[ClaimedJob, Outcome]]) -> None:
        """Settle what the handlers left to the relay, as this loop: a job another loop holds
        now (this one overran its lease) is left to it."""
        left = [
            (replace(job, holder=self.name), outcome)
            for job, outcome in results
            if not isinstance(outcome, Settled)
        ]
        if left:
            async with self.sessionmaker.begin() as session:
                await settle_in(session, self.clock, left)


def _kept(outcome: Retry | Dead, now: datetime) -> dict[str, Any]:
    if isinstance(outcome, Retry):
        return {"run_at": outcome.at, "last_error": outcome.error[:2000], "locked_by": None}
    return {
        "state": "dead",
        "last_error": outcome.error[:2000],
        "finished_at": now,
        "locked_by": None,
    }
