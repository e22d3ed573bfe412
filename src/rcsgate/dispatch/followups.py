"""What happens to a message after its submit: revoke on request, expiry at its TTL, the
fallback check `after` seconds, and the agent's typing and read events.

Fallback order (API.md 2.6): the RCS attempt is revoked first, and only a confirmed revoke
queues the SMS (`send_sms`), in the same transaction that records `Revoked`/`Expired`; a
revoke the operator refuses means the RCS message was delivered, and no SMS is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rcsgate.config import Settings
from rcsgate.connectors.base import ConnectorError
from rcsgate.dispatch.outgoing import Effects, MessageAction, Outgoing, per_message
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
from rcsgate.messages.state import Step
from rcsgate.models import Conversation, Message, MessageRef

PENDING = frozenset({"Scheduled", "Queued"})


@dataclass
class FollowUps:
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    settings: Settings
    operators: Operators

    async def revoke(self, jobs: Sequence[ClaimedJob]) -> list[Outcome]:
        return await self._each(jobs, self._revoke)

    async def expire(self, jobs: Sequence[ClaimedJob]) -> list[Outcome]:
        return await self._each(jobs, self._expire)

    async def fallback_check(self, jobs: Sequence[ClaimedJob]) -> list[Outcome]:
        return await self._each(jobs, self._fallback_check)

    async def _each(self, jobs: Sequence[ClaimedJob], action: MessageAction) -> list[Outcome]:
        return await per_message(
            self.sessionmaker, self.clock, self.settings.operators, jobs, action
        )

    async def _revoke(self, job: ClaimedJob, message: Outgoing, effects: Effects) -> Outcome:
        now = self.clock.now()
        if message.status in PENDING:
            effects.step(
                Step(message.id, "Revoked", message.channel, now, reason="revoked before sending")
            )
            return DONE
        if message.channel == "SMS" or message.status not in {"Sent", "Delivered"}:
            effects.step(
                Step(
                    message.id,
                    "RevokeFailed",
                    message.channel,
                    now,
                    reason=f"message is {message.status}",
                )
            )
            return DONE
        return await self._revoke_at_operator(
            job, message, effects, "Revoked", "revoked on request"
        )

    async def _expire(self, job: ClaimedJob, message: Outgoing, effects: Effects) -> Outcome:
        if message.channel != "RCS" or message.status not in PENDING | {"Sent"}:
            return DONE  # delivered, or ended otherwise: nothing expires
        if message.status in PENDING:
            self._ended(message, "Expired", "ttl reached", effects)
            return DONE
        return await self._revoke_at_operator(job, message, effects, "Expired", "ttl reached")

    async def _fallback_check(
        self, job: ClaimedJob, message: Outgoing, effects: Effects
    ) -> Outcome:
        if message.channel != "RCS" or message.status != "Sent":
            return DONE  # delivered in time, or already ended
        reason = f"not delivered within {message.fallback_after} s"
        return await self._revoke_at_operator(job, message, effects, "Revoked", reason)

    async def _revoke_at_operator(
        self, job: ClaimedJob, message: Outgoing, effects: Effects, ending: str, reason: str
    ) -> Outcome:
        connector = self.operators.rcs.get(message.operator or "")
        if connector is None:
            return Dead(f"no connector for operator {message.operator!r}")
        try:
            revoked = await connector.revoke(message.agent_id, message.recipient, message.id)
        except ConnectorError as error:
            at = retry_at(error, job.attempts, self.clock.now())
            return Retry(at, error.reason) if at else Dead(error.reason)
        now = self.clock.now()
        if revoked:
            self._ended(message, ending, reason, effects, operator=connector.name)
        elif ending == "Revoked" and reason == "revoked on request":
            # The operator delivered it already: say so, then that the revoke failed.
            effects.step(Step(message.id, "Delivered", "RCS", now, operator=connector.name))
            effects.step(
                Step(
                    message.id,
                    "RevokeFailed",
                    "RCS",
                    now,
                    operator=connector.name,
                    reason="already delivered",
                )
            )
        return DONE

    def _ended(
        self,
        message: Outgoing,
        ending: str,
        reason: str,
        effects: Effects,
        operator: str | None = None,
    ) -> None:
        now = self.clock.now()
        step = Step(message.id, ending, "RCS", now, operator=operator, reason=reason)
        wants_sms = message.sms_fallback and reason != "revoked on request"
        sms = [("send_sms", {"messageId": message.id}, now)] if wants_sms else []
        effects.end(step, *sms)

    async def agent_event(self, jobs: Sequence[ClaimedJob]) -> list[Outcome]:
        """Typing and read events, each sent once per claim; the job's id is the event's id at
        the operator (RBM `eventId`), which drops an event sent again after a lost settle."""
        async with self.sessionmaker() as session:
            live = await held(session, jobs)
        running = [job for job in jobs if job.id in live]
        outcomes = await asyncio.gather(*(self._agent_event(job) for job in running))
        async with self.sessionmaker.begin() as session:
            await settle_in(session, self.clock, list(zip(running, outcomes, strict=True)))
        return [SETTLED for _ in jobs]

    async def _agent_event(self, job: ClaimedJob) -> Outcome:
        async with self.sessionmaker() as session:
            target = await _event_target(session, job.payload)
        if target is None:
            return DONE
        agent_id, recipient, operator, ref = target
        connector = self.operators.rcs.get(operator or "") or self.operators.rcs_for(
            list(self.operators.rcs)
        )
        if connector is None:
            return DONE  # SMS conversations have no typing or read events
        event = "READ" if job.payload.get("type") == "Read" else "IS_TYPING"
        try:
            await connector.agent_event(
                agent_id, recipient, event, ref if event == "READ" else None, event_id=job.id
            )
        except ConnectorError as error:
            at = retry_at(error, job.attempts, self.clock.now())
            return Retry(at, error.reason) if at else Dead(error.reason)
        return DONE


async def _event_target(
    session: AsyncSession, payload: dict[str, object]
) -> tuple[str, str, str | None, str | None] | None:
    """(agent, recipient, operator, the operator's id of the message read) of an agent event."""
    conversation = await session.get(Conversation, str(payload["conversationId"]))
    if conversation is None:
        return None
    operator, ref = None, None
    if payload.get("messageId"):
        row = (
            await session.execute(
                select(Message.operator, MessageRef.ref)
                .outerjoin(MessageRef, MessageRef.message_id == Message.id)
                .where(Message.id == str(payload["messageId"]))
            )
        ).first()
        if row is not None:
            operator, ref = row
    return conversation.agent_id, conversation.recipient, operator, ref
