"""What the dispatch handlers read and write: outgoing messages loaded in batches, and the
effects of a batch (journey steps, follow-up jobs, operator refs) written in one transaction."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rcsgate.content import MessageContent, fill
from rcsgate.dispatch.jobs import job_row
from rcsgate.dispatch.relay import DONE, ClaimedJob, Outcome
from rcsgate.dispatch.sms_replies import SmsSent, remember
from rcsgate.kit.clock import Clock
from rcsgate.messages.state import MESSAGES, Step, record_steps
from rcsgate.models import Agent, AgentOperator, Bundle, Job, Message, MessageRef


@dataclass(frozen=True, slots=True)
class Outgoing:
    id: str
    agent_id: str
    recipient: str
    status: str
    channel: str
    operator: str | None
    expires_at: datetime | None
    content: MessageContent
    sms_sender: str | None
    launched: tuple[str, ...]  # operators the agent is launched at

    @property
    def sms_fallback(self) -> bool:
        return self.content.fallback is not None

    @property
    def fallback_after(self) -> int | None:
        return self.content.fallback.after if self.content.fallback else None


async def load_outgoing(
    session: AsyncSession, ids: Sequence[str], operator_order: Sequence[str]
) -> dict[str, Outgoing]:
    """The messages with their content filled for their recipient, in one query (plus one for
    the agents' launch state)."""
    rows = (
        await session.execute(
            select(
                Message.id,
                Message.agent_id,
                Message.recipient,
                Message.status,
                Message.channel,
                Message.operator,
                Message.expires_at,
                Message.content,
                Message.variables,
                Bundle.content,
                Agent.sms_sender,
            )
            .join(Agent, Agent.id == Message.agent_id)
            .outerjoin(Bundle, Bundle.id == Message.bundle_id)
            .where(Message.id.in_(ids))
        )
    ).all()
    launched = await launched_operators(session, {row[1] for row in rows}, operator_order)
    return {
        row[0]: Outgoing(
            id=row[0],
            agent_id=row[1],
            recipient=row[2],
            status=row[3],
            channel=row[4],
            operator=row[5],
            expires_at=row[6],
            content=_content(row[7] or row[9], row[8]),
            sms_sender=row[10],
            launched=launched.get(row[1], ()),
        )
        for row in rows
    }


def _content(stored: dict[str, Any], variables: dict[str, Any] | None) -> MessageContent:
    content = MessageContent.model_validate(stored)
    return fill(content, variables) if variables else content


async def launched_operators(
    session: AsyncSession, agent_ids: Iterable[str], order: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    rows = await session.execute(
        select(AgentOperator.agent_id, AgentOperator.operator).where(
            AgentOperator.agent_id.in_(list(agent_ids)), AgentOperator.status == "Launched"
        )
    )
    found: dict[str, list[str]] = defaultdict(list)
    for agent_id, operator in rows:
        found[agent_id].append(operator)
    rank = {name: i for i, name in enumerate(order)}
    return {a: tuple(sorted(ops, key=lambda o: rank.get(o, len(rank)))) for a, ops in found.items()}


@dataclass
class Effects:
    """Everything a batch decided, written together so no step lacks its follow-up job."""

    steps: list[Step] = field(default_factory=list)
    jobs: list[tuple[str, dict[str, Any], datetime]] = field(default_factory=list)
    refs: list[dict[str, str]] = field(default_factory=list)
    segments: dict[str, int] = field(default_factory=dict)
    sms_sent: list[SmsSent] = field(default_factory=list)  # where a reply may come from

    def step(self, step: Step) -> None:
        self.steps.append(step)

    def job(self, kind: str, payload: dict[str, Any], run_at: datetime) -> None:
        self.jobs.append((kind, payload, run_at))

    def merge(self, other: Effects) -> None:
        self.steps += other.steps
        self.jobs += other.jobs
        self.refs += other.refs
        self.segments.update(other.segments)
        self.sms_sent += other.sms_sent

    async def write(self, session: AsyncSession, clock: Clock) -> None:
        await record_steps(session, self.steps)
        if self.jobs:
            await session.execute(insert(Job), [job_row(clock, *job) for job in self.jobs])
        if self.refs:
            await session.execute(insert(MessageRef), self.refs)
        if self.segments:
            await session.execute(
                update(MESSAGES)
                .where(MESSAGES.c.id == bindparam("mid"))
                .values(segments=bindparam("n")),
                [{"mid": m, "n": n} for m, n in self.segments.items()],
            )
        await remember(session, self.sms_sent)


MessageAction = Callable[[ClaimedJob, Outgoing, Effects], Awaitable[Outcome]]


async def per_message(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    operator_order: Sequence[str],
    jobs: Sequence[ClaimedJob],
    action: MessageAction,
) -> list[Outcome]:
    """The shape of every message job: load the batch's messages in one query, run `action`
    on each concurrently (outside any transaction; a job whose message is gone is done), then
    write every effect in one transaction."""
    ids = [str(job.payload["messageId"]) for job in jobs]
    async with sessionmaker() as session:
        found = await load_outgoing(session, ids, operator_order)
    effects = Effects()
    outcomes = await asyncio.gather(
        *(_act(action, job, found.get(mid), effects) for job, mid in zip(jobs, ids, strict=True))
    )
    async with sessionmaker.begin() as session:
        await effects.write(session, clock)
    return list(outcomes)


async def _act(
    action: MessageAction, job: ClaimedJob, message: Outgoing | None, effects: Effects
) -> Outcome:
    return DONE if message is None else await action(job, message, effects)
