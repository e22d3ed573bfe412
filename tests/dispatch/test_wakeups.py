"""Idle relay loops and webhook senders sleep until work is committed (kit.wakeup), not on a
50 ms poll: the doorbell rings after a commit that inserted jobs (or deliveries), from this
process by session events, from any process by PostgreSQL's NOTIFY."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import cast

import asyncpg
import pytest
from sqlalchemy import Table, insert, update

from rcsgate.context import AppContext
from rcsgate.dispatch.jobs import enqueue, job_row
from rcsgate.dispatch.relay import DONE, ClaimedJob, Outcome, Relay
from rcsgate.kit.clock import FakeClock
from rcsgate.kit.wakeup import announce, listening
from rcsgate.models import Job
from tests.dispatch.test_relay import add_jobs, relay
from tests.fixtures.database import backend

JOBS = cast(Table, Job.__table__)
PROMPTLY = 5.0  # seconds; every loop below waits 60 s between looks unless woken


class Seen:
    """A handler that counts the jobs it ran and says when it has run `n`."""

    def __init__(self) -> None:
        self.jobs: list[ClaimedJob] = []
        self.changed = asyncio.Event()

    async def __call__(self, jobs: Sequence[ClaimedJob]) -> list[Outcome]:
        self.jobs.extend(jobs)
        self.changed.set()
        return [DONE for _ in jobs]

    async def until(self, n: int) -> None:
        async with asyncio.timeout(PROMPTLY):
            while len(self.jobs) < n:
                self.changed.clear()
                await self.changed.wait()


class TestRingOnCommit:
    async def test_a_commit_that_inserted_jobs_rings_after_the_commit(
        self, context: AppContext
    ) -> None:
        with context.wakeups.jobs.waiter() as rung:
            async with context.sessionmaker.begin() as session:
                enqueue(session, context.clock, "work", {})
                await session.flush()
                assert not rung.is_set()  # not before the rows are visible
            assert rung.is_set()

    async def test_a_core_insert_of_jobs_rings(self, context: AppContext) -> None:
        with context.wakeups.jobs.waiter() as rung:
            async with context.sessionmaker.begin() as session:
                await session.execute(insert(JOBS), [job_row(context.clock, "work", {})])
            assert rung.is_set()

    async def test_a_rolled_back_insert_does_not_ring(self, context: AppContext) -> None:
        with context.wakeups.jobs.waiter() as rung:
            async with context.sessionmaker() as session:
                enqueue(session, context.clock, "work", {})
                await session.flush()
                await session.rollback()
                await session.commit()
            assert not rung.is_set()

    async def test_updates_of_jobs_do_not_ring(self, context: AppContext) -> None:
        """A claim or a settle is an UPDATE: were it to ring, an idle loop would wake itself."""
        await add_jobs(context, "work", 1)
        with context.wakeups.jobs.waiter() as rung:
            assert len(await relay(context, Seen()).claim()) == 1
            async with context.sessionmaker.begin() as session:
                await session.execute(update(JOBS).values(last_error="x"))
            assert not rung.is_set()

    async def test_announce_rings_the_channel_after_the_commit(self, context: AppContext) -> None:
        bell = context.wakeups.webhooks
        with bell.waiter() as rung, context.wakeups.jobs.waiter() as jobs_rung:
            async with context.sessionmaker.begin() as session:
                await announce(session, bell.channel)
                assert not rung.is_set()
            assert rung.is_set()
            assert not jobs_rung.is_set()


@dataclass
class Sleepy(Relay):
    """A relay that says when it goes to sleep (it has looked for work and found none)."""

    asleep: asyncio.Event = field(default_factory=asyncio.Event)

    async def _until_due(self, shortest: float) -> float:
        wait = await super()._until_due(shortest)
        self.asleep.set()
        return wait

    async def until_asleep(self) -> None:
        self.asleep.clear()
        async with asyncio.timeout(PROMPTLY):
            await self.asleep.wait()


def sleepy(context: AppContext, handler: Seen) -> Sleepy:
    shape = relay(context, handler, bell=context.wakeups.jobs, longest_wait=60.0)
    return Sleepy(**{f.name: getattr(shape, f.name) for f in fields(Relay)})


class TestIdleRelay:
    async def test_a_job_committed_while_the_loop_sleeps_runs_at_once(
        self, context: AppContext
    ) -> None:
        seen = Seen()
        loop = sleepy(context, seen)
        stop = asyncio.Event()
        task = asyncio.create_task(loop.run_forever(stop))
        try:
            await loop.until_asleep()
            await add_jobs(context, "work", 2)
            await seen.until(2)
            await loop.until_asleep()
            await add_jobs(context, "work", 1)
            await seen.until(3)
        finally:
            stop.set()
            await task

    async def test_the_loop_sleeps_until_the_next_job_comes_due(
        self, context: AppContext, clock: FakeClock
    ) -> None:
        loop = relay(context, Seen(), bell=context.wakeups.jobs, longest_wait=60.0)
        assert await loop._until_due(0.05) == 60.0  # nothing queued: the longest wait
        async with context.sessionmaker.begin() as session:
            enqueue(session, clock, "work", {}, run_at=clock.now() + timedelta(seconds=7))
        assert await loop._until_due(0.05) == pytest.approx(7.0)
        clock.advance(30)  # due, yet unclaimed: another claimer holds it; look again soon
        assert await loop._until_due(0.05) == 0.05

    @pytest.mark.skipif(backend() != "postgres", reason="NOTIFY is PostgreSQL's")
    async def test_a_job_another_process_commits_wakes_the_loop(
        self, context: AppContext, database_url: str
    ) -> None:
        seen = Seen()
        loop = sleepy(context, seen)
        stop = asyncio.Event()
        async with listening(context.engine, context.wakeups.jobs):
            task = asyncio.create_task(loop.run_forever(stop))
            try:
                await add_jobs(context, "work", 1)
                await seen.until(1)
                await loop.until_asleep()
                # Not through this context's sessions: only the trigger's NOTIFY tells.
                await insert_job_elsewhere(database_url, context)
                await seen.until(2)
            finally:
                stop.set()
                await task


async def insert_job_elsewhere(database_url: str, context: AppContext) -> None:
    row = job_row(context.clock, "work", {})
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "INSERT INTO jobs (id, kind, queue, payload, state, run_at, attempts, created_at)"
            " VALUES ($1, $2, $3, '{}'::json, $4, $5, 0, $6)",
            row["id"],
            row["kind"],
            row["queue"],
            row["state"],
            row["run_at"],
            row["created_at"],
        )
    finally:
        await connection.close()
