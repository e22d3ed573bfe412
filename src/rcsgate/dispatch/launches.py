"""`launch_agent`: ask each operator to launch an agent and record its answer.

An operator whose API has no launch request (GSMA MaaP: chatbots are provisioned by the
operator out of band) keeps the `Submitted` state until its answer is recorded by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rcsgate.agents.service import record_launch_result
from rcsgate.connectors.base import ConnectorError
from rcsgate.dispatch.policy import retry_at
from rcsgate.dispatch.relay import (
    DONE,
    SETTLED,
    ClaimedJob,
    Dead,
    Outcome,
    Retry,
    held,
    settle_in,
)
from rcsgate.dispatch.routing import Operators
from rcsgate.kit.clock import Clock
from rcsgate.models import Agent


@dataclass
class Launches:
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    operators: Operators

    async def launch(self, jobs: Sequence[ClaimedJob]) -> list[Outcome]:
        async with self.sessionmaker() as session:
            live = await held(session, jobs)
        return [await self._launch(job) if job.id in live else SETTLED for job in jobs]

    async def _launch(self, job: ClaimedJob) -> Outcome:
        agent_id = str(job.payload["agentId"])
        answers: dict[str, str] = {}
        for name in job.payload["operators"]:
            request = getattr(self.operators.rcs.get(name), "request_launch", None)
            if request is None:
                continue
            try:
                answers[name] = await request(agent_id)
            except ConnectorError as error:
                at = retry_at(error, job.attempts, self.clock.now())
                return Retry(at, error.reason) if at else Dead(error.reason)
        async with self.sessionmaker.begin() as session:
            if not await settle_in(session, self.clock, [(job, DONE)]):
                return SETTLED  # taken over meanwhile: its new holder records the answers
            agent = await session.get(Agent, agent_id)
            if agent is not None:
                for name, state in answers.items():
                    await record_launch_result(session, self.clock, agent, name, state)
        return SETTLED
