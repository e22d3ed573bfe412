"""What the dispatch handlers read and write: outgoing messages loaded in batches, and the
effects of a batch (journey steps, follow-up jobs, operator refs) written in one transaction."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rcsgate.content import MessageContent, fill
from rcsgate.dispatch.jobs import job_row
from rcsgate.dispatch.relay import DONE, SETTLED, ClaimedJob, Outcome, held, settle_in
from rcsgate.dispatch.sms_replies import SmsSent, remember
from rcsgate.kit.clock import Clock
from rcsgate.messages.state import MESSAGES, Step, record_if_moved, record_steps
from rcsgate.models import Agent, AgentOperator, Bundle, Job, Message, MessageRef

# Tables, not ORM classes, for the batch inserts: an ORM bulk insert builds a state per row.
JOBS = cast(Table, Job.__table__)
MESSAGE_REFS = cast(Table, MessageRef.__table__)


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
    sms_submit_attempted_at: datetime | None = None

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
                Message.sms_submit_attempted_at,
                Message.bundle_id,
            )
            .join(Agent, Agent.id == Message.agent_id)
            .outerjoin(Bundle, Bundle.id == Message.bundle_id)
            .where(Message.id.in_(ids))
        )
    ).all()
    launched = await launched_operators(session, {row[1] for row in rows}, operator_order)
    bundles: dict[str, MessageContent] = {}
    return {
        row[0]: Outgoing(
            id=row[0],
            agent_id=row[1],
            recipient=row[2],
            status=row[3],
            channel=row[4],
            operator=row[5],
            expires_at=row[6],
            content=_content(row[7], row[8], row[12], row[9], bundles),
            sms_sender=row[10],
            launched=launched.get(row[1], ()),
            sms_submit_attempted_at=row[11],
        )
        for row in rows
    }


def _content(
    own: dict[str, Any] | None,
    variables: dict[str, Any] | None,
    bundle_id: str | None,
    bundle_content: dict[str, Any] | None,
    bundles: dict[str, MessageContent],
) -> MessageContent:
    """A message's content, filled for its recipient. A bundle's messages store none of their
    own: the bundle's is validated once per batch (`bundles`, by bundle id) and shared."""
    if own or bundle_id is None:
        content = MessageContent.model_validate(own or bundle_content)
    elif bundle_id in bundles:
        content = bundles[bundle_id]
    else:
        content = bundles[bundle_id] = MessageContent.model_validate(bundle_content)
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
    # Endings a job decided, each with its follow-up jobs: written only if it moves the status.
    endings: list[tuple[Step, list[tuple[str, dict[str, Any], datetime]]]] = field(
        default_factory=list
    )
    refs: list[dict[str, str]] = field(default_factory=list)
    segments: dict[str, int] = field(default_factory=dict)
    sms_unsent: list[str] = field(default_factory=list)  # their SMS submit was surely not taken
    sms_sent: list[SmsSent] = field(default_factory=list)  # where a reply may come from

    def step(self, step: Step) -> None:
        self.steps.append(step)

    def job(self, kind: str, payload: dict[str, Any], run_at: datetime) -> None:
        self.jobs.append((kind, payload, run_at))

    def end(self, step: Step, *follow_ups: tuple[str, dict[str, Any], datetime]) -> None:
        """An ending (Expired, Revoked), recorded and followed up only if it moves the status:
        see `record_if_moved`."""
        self.endings.append((step, list(follow_ups)))

    def merge(self, other: Effects) -> None:
        self.steps += other.steps
        self.jobs += other.jobs
        self.endings += other.endings
        self.refs += other.refs
        self.segments.update(other.segments)
        self.sms_unsent += other.sms_unsent
        self.sms_sent += other.sms_sent

    async def write(self, session: AsyncSession, clock: Clock) -> None:
        await record_steps(session, self.steps)
        jobs = list(self.jobs)
        for step, follow_ups in self.endings:
            if await record_if_moved(session, step):
                jobs += follow_ups
        if jobs:
            await session.execute(insert(JOBS), [job_row(clock, *job) for job in jobs])
        if self.refs:
            await session.execute(insert(MESSAGE_REFS), self.refs)
        if self.segments:
            await session.execute(
                update(MESSAGES)
                .where(MESSAGES.c.id == bindparam("mid"))
                .values(segments=bindparam("n")),
                [{"mid": m, "n": n} for m, n in self.segments.items()],
            )
        if self.sms_unsent:
            await session.execute(
                update(MESSAGES)
                .where(MESSAGES.c.id.in_(self.sms_unsent))
                .values(sms_submit_attempted_at=None)
            )
        await remember(session, self.sms_sent)


async def record_sms_attempts(
    sessionmaker: async_sessionmaker[AsyncSession], attempts: Sequence[tuple[str, datetime]]
) -> None:
    """Committed before the submit_sm leaves: a rerun then knows the SMSC may have the SMS."""
    async with sessionmaker.begin() as session:
        await session.execute(
            update(MESSAGES)
            .where(MESSAGES.c.id == bindparam("mid"))
            .values(sms_submit_attempted_at=bindparam("at")),
            [{"mid": mid, "at": at} for mid, at in attempts],
        )


MessageAction = Callable[[ClaimedJob, Outgoing, Effects], Awaitable[Outcome]]


async def per_message(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    operator_order: Sequence[str],
    jobs: Sequence[ClaimedJob],
    action: MessageAction,
) -> list[Outcome]:
    """The shape of every message job: load the batch's messages in one query, run `action`
    on each concurrently (outside any transaction), then settle the jobs and write the effects
    of those whose claims were still held, in one transaction. A job is done without acting
    when its message is gone, when its claim was settled already (an earlier run of it), or
    when it is a copy of another job of the batch for the same message: two copies would both
    pass the status check and submit twice."""
    ids = [str(job.payload["messageId"]) for job in jobs]
    async with sessionmaker() as session:
        live = await held(session, jobs)
        found = await load_outgoing(session, ids, operator_order)
    acting: dict[str, str] = {}
    for job, mid in zip(jobs, ids, strict=True):
        if job.id in live:
            acting.setdefault(mid, job.id)
    effects = [Effects() for _ in jobs]
    outcomes = await asyncio.gather(
        *(
            _act(action, job, found.get(mid) if acting.get(mid) == job.id else None, effect)
            for job, mid, effect in zip(jobs, ids, effects, strict=True)
        )
    )
    async with sessionmaker.begin() as session:
        settled = await settle_in(session, clock, list(zip(jobs, outcomes, strict=True)))
        written = Effects()
        for job, effect in zip(jobs, effects, strict=True):
            if job.id in settled:
                written.merge(effect)
        await written.write(session, clock)
    return [SETTLED for _ in jobs]


async def _act(
    action: MessageAction, job: ClaimedJob, message: Outgoing | None, effects: Effects
) -> Outcome:
    return DONE if message is None else await action(job, message, effects)
