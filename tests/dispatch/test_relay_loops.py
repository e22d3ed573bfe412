"""The relay loops of one process (`RCSGATE_DISPATCH_WORKERS`) hold leases each as itself."""

from __future__ import annotations

from rcsgate.context import AppContext
from rcsgate.dispatch.relay import DONE
from rcsgate.dispatch.runtime import Dispatch
from tests.dispatch.test_relay import add_jobs, jobs_by_id


class TestLoops:
    async def test_a_loop_cannot_settle_a_job_another_loop_of_its_process_holds(
        self, context: AppContext
    ) -> None:
        dispatch = Dispatch(context)
        a, b = dispatch.loop(), dispatch.loop()
        [job_id] = await add_jobs(context, "work", 1)
        claimed = await a.claim()
        await b.settle([(job, DONE) for job in claimed])  # b overran nothing: not its job
        assert (await jobs_by_id(context))[job_id].locked_by == a.name
        await a.settle([(job, DONE) for job in claimed])
        assert await jobs_by_id(context) == {}

    async def test_every_loop_has_a_holder_id_of_its_own(self, context: AppContext) -> None:
        dispatch = Dispatch(context)
        names = {dispatch.relay.name, *(dispatch.loop().name for _ in range(3))}
        assert len(names) == 4
        assert all(len(name) <= 64 for name in names)  # jobs.locked_by is VARCHAR(64)
