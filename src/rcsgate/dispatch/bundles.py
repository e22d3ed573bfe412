"""`send_bundle`: a bundle's messages become `send_message` jobs, a chunk at a time.

Each run queues one chunk and, in the same transaction, the next `send_bundle` job with the
cursor moved on, so a 100,000-recipient bundle never holds one long transaction and a worker
killed mid-way resumes at the last committed chunk. The same transaction ends the job itself,
and writes only while its claim is held: a run repeated after it committed (its settle failed,
another bundle of the batch raised) queues nothing, so no chunk is queued twice and the cursor
chain never forks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rcsgate.dispatch.jobs import enqueue, job_row
from rcsgate.dispatch.relay import DONE, SETTLED, ClaimedJob, Outcome, settle_in
from rcsgate.kit.clock import Clock
from rcsgate.models import Job, Message

CHUNK = 1000
JOBS = cast(Table, Job.__table__)


@dataclass
class BundleFanOut:
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    chunk: int = CHUNK

    async def fan_out(self, jobs: Sequence[ClaimedJob]) -> list[Outcome]:
        for job in jobs:
            async with self.sessionmaker.begin() as session:
                if await settle_in(session, self.clock, [(job, DONE)]):
                    bundle_id = str(job.payload["bundleId"])
                    await self._chunk(session, bundle_id, job.payload.get("after"))
        return [SETTLED for _ in jobs]

    async def _chunk(self, session: AsyncSession, bundle_id: str, after: str | None) -> None:
        statement = (
            select(Message.id)
            .where(Message.bundle_id == bundle_id, Message.status.in_(("Scheduled", "Queued")))
            .order_by(Message.id)
            .limit(self.chunk)
        )
        if after:
            statement = statement.where(Message.id > after)
        ids = list((await session.scalars(statement)).all())
        if not ids:
            return
        rows = [job_row(self.clock, "send_message", {"messageId": mid}) for mid in ids]
        # The table, not the ORM class: an ORM bulk insert builds a mapper state per row.
        await session.execute(insert(JOBS), rows)
        if len(ids) == self.chunk:
            enqueue(session, self.clock, "send_bundle", {"bundleId": bundle_id, "after": ids[-1]})
