"""The durable job queue: claim due jobs in batches with a lease, run them, retry or
dead-letter them. All of its state is in the `jobs` table.

Leases. Claiming a job moves its `run_at` to the end of the lease and stamps `locked_by`, in one
UPDATE. A worker that dies leaves the job to come due again when the lease ends, so another
worker (or the same one restarted) catches up; no separate sweeper is needed. On PostgreSQL the
claim skips rows other claimers hold (`FOR UPDATE SKIP LOCKED`), so many workers share a queue;
SQLite serialises writers, which makes its one UPDATE a claim of its own.

Outcomes. A handler gets a batch of jobs of one kind and returns one outcome per job: done
(the row is deleted), retry at a time (kept, with the error), or dead (kept as `dead` for
inspection). Only the worker holding the lease may settle a job: a worker that overran its
lease finds its rows taken and leaves them to their new owner. A handler must therefore be
idempotent; every handler in `pipeline` checks the state it is about to change.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rcsgate.kit.backoff import Backoff
from rcsgate.kit.clock import Clock
from rcsgate.models import Job

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int  # including this one


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


Outcome = Done | Retry | Dead
DONE = Done()
BatchHandler = Callable[[Sequence[ClaimedJob]], Awaitable[Sequence[Outcome]]]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


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
                update(Job)
                .where(Job.id.in_(due.scalar_subquery()))
                .values(run_at=now + self.lease, locked_by=self.name, attempts=Job.attempts + 1)
                .returning(Job.id, Job.kind, Job.payload, Job.attempts)
                .execution_options(synchronize_session=False)
            )
            return [ClaimedJob(*row) for row in rows]

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
        while not stop.is_set():
            try:
                claimed = await self.run_once()
            except Exception:
                log.exception("relay.batch_failed", queue=self.queue)
                claimed = 0
            if not claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), idle)

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
        done = [job.id for job, outcome in results if isinstance(outcome, Done)]
        mine = (Job.locked_by == self.name,)
        async with self.sessionmaker.begin() as session:
            if done:
                await session.execute(
                    delete(Job)
                    .where(Job.id.in_(done), *mine)
                    .execution_options(synchronize_session=False)
                )
            for job, outcome in results:
                if isinstance(outcome, Done):
                    continue
                values = _kept(outcome, self.clock.now())
                await session.execute(
                    update(Job)
                    .where(Job.id == job.id, *mine)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                if isinstance(outcome, Dead):
                    log.warning("relay.dead_letter", job=job.id, kind=job.kind, error=outcome.error)


def _kept(outcome: Retry | Dead, now: datetime) -> dict[str, Any]:
    if isinstance(outcome, Retry):
        return {"run_at": outcome.at, "last_error": outcome.error[:2000], "locked_by": None}
    return {
        "state": "dead",
        "last_error": outcome.error[:2000],
        "finished_at": now,
        "locked_by": None,
    }
