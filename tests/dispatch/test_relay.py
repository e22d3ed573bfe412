from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select

from rcsgate.context import AppContext
from rcsgate.dispatch.jobs import enqueue
from rcsgate.dispatch.relay import DONE, ClaimedJob, Dead, Outcome, Relay, Retry
from rcsgate.kit.backoff import Backoff
from rcsgate.kit.clock import FakeClock
from rcsgate.models import Job
from tests.fixtures.database import backend

LEASE = timedelta(seconds=30)


async def add_jobs(context: AppContext, kind: str, n: int) -> list[str]:
    async with context.sessionmaker.begin() as session:
        jobs = [enqueue(session, context.clock, kind, {"n": i}) for i in range(n)]
        await session.flush()
        return [job.id for job in jobs]


async def jobs_by_id(context: AppContext) -> dict[str, Job]:
    async with context.sessionmaker() as session:
        return {job.id: job for job in (await session.scalars(select(Job))).all()}


class Recorder:
    def __init__(self, outcome: Outcome = DONE) -> None:
        self.seen: list[ClaimedJob] = []
        self.outcome = outcome

    async def __call__(self, jobs: Sequence[ClaimedJob]) -> list[Outcome]:
        self.seen.extend(jobs)
        return [self.outcome for _ in jobs]


def relay(context: AppContext, handler: Recorder, name: str = "w1", **kw: object) -> Relay:
    return Relay(
        context.sessionmaker,
        context.clock,
        {"work": handler},
        "dispatch",
        lease=LEASE,
        name=name,
        backoff=Backoff(base=5, cap=60, jitter=0),
        **kw,  # type: ignore[arg-type]
    )


class TestRelay:
    async def test_done_jobs_are_run_once_and_deleted(self, context: AppContext) -> None:
        ids = await add_jobs(context, "work", 3)
        handler = Recorder()
        assert await relay(context, handler).run_until_idle() == 3
        assert sorted(j.id for j in handler.seen) == sorted(ids)
        assert await jobs_by_id(context) == {}

    async def test_batches_are_bounded(self, context: AppContext) -> None:
        await add_jobs(context, "work", 5)
        assert await relay(context, Recorder(), batch_size=2).run_once() == 2

    async def test_a_job_not_due_yet_waits(self, context: AppContext, clock: FakeClock) -> None:
        async with context.sessionmaker.begin() as session:
            enqueue(session, clock, "work", {}, run_at=clock.now() + timedelta(seconds=10))
        handler = Recorder()
        assert await relay(context, handler).run_once() == 0
        clock.advance(10)
        assert await relay(context, handler).run_once() == 1

    async def test_a_worker_that_dies_leaves_its_jobs_to_another_after_the_lease(
        self, context: AppContext, clock: FakeClock
    ) -> None:
        [job_id] = await add_jobs(context, "work", 1)
        dying = relay(context, Recorder(), name="dies")
        claimed = await dying.claim()  # ...and never settles
        assert [j.id for j in claimed] == [job_id]
        other = Recorder()
        assert await relay(context, other, name="w2").run_once() == 0  # leased
        clock.advance(LEASE.total_seconds())
        assert await relay(context, other, name="w2").run_once() == 1
        assert other.seen[0].attempts == 2
        await dying.settle([(claimed[0], DONE)])  # too late: the job is no longer its own
        assert await jobs_by_id(context) == {}

    async def test_retry_keeps_the_job_with_its_error_until_the_time_given(
        self, context: AppContext, clock: FakeClock
    ) -> None:
        [job_id] = await add_jobs(context, "work", 1)
        at = clock.now() + timedelta(seconds=42)
        await relay(context, Recorder(Retry(at, "operator said 503"))).run_once()
        job = (await jobs_by_id(context))[job_id]
        assert (job.state, job.run_at, job.last_error, job.attempts) == (
            "ready",
            at,
            "operator said 503",
            1,
        )

    async def test_dead_jobs_are_kept_for_inspection(self, context: AppContext) -> None:
        [job_id] = await add_jobs(context, "work", 1)
        await relay(context, Recorder(Dead("gave up"))).run_once()
        job = (await jobs_by_id(context))[job_id]
        assert (job.state, job.last_error) == ("dead", "gave up")
        assert await relay(context, Recorder()).run_once() == 0

    async def test_a_handler_that_raises_is_retried_with_backoff_then_dead(
        self, context: AppContext, clock: FakeClock
    ) -> None:
        [job_id] = await add_jobs(context, "work", 1)

        async def broken(jobs: Sequence[ClaimedJob]) -> list[Outcome]:
            raise RuntimeError("bug")

        worker = Relay(
            context.sessionmaker,
            clock,
            {"work": broken},
            "dispatch",
            backoff=Backoff(base=5, cap=60, jitter=0),
            max_attempts=3,
        )
        delays = []
        for _ in range(3):
            before = clock.now()
            assert await worker.run_once() == 1
            job = (await jobs_by_id(context))[job_id]
            delays.append((job.run_at - before).total_seconds())
            clock.advance(120)
        assert delays[:2] == [5, 10]
        assert job.state == "dead"
        assert "bug" in (job.last_error or "")

    async def test_unknown_kinds_are_dead_lettered(self, context: AppContext) -> None:
        [job_id] = await add_jobs(context, "mystery", 1)
        await relay(context, Recorder()).run_once()
        assert (await jobs_by_id(context))[job_id].state == "dead"

    async def test_concurrent_workers_never_claim_the_same_job(self, context: AppContext) -> None:
        await add_jobs(context, "work", 60)
        handlers = [Recorder() for _ in range(4)]
        workers = [relay(context, h, name=f"w{i}", batch_size=7) for i, h in enumerate(handlers)]
        await asyncio.gather(*(w.run_until_idle() for w in workers))
        seen = [job.id for h in handlers for job in h.seen]
        assert len(seen) == len(set(seen)) == 60
        if backend() == "postgres":
            assert sum(1 for h in handlers if h.seen) > 1  # SKIP LOCKED shares the queue
