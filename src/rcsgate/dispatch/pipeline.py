"""Sending: the handlers of `send_message` and `send_sms` jobs.

A batch loads its messages in one query, submits them to the operators concurrently (outside
any transaction), and writes every outcome (Sent, Failed, follow-up jobs) in one transaction.
Each handler first checks the message's status, so a job run twice (a worker died after the
submit, before settling) does nothing the second time; the operator itself drops the second
RCS submit because our message id is its message id.

SMPP has no such key, so an SMS submit is recorded (`sms_submit_attempted_at`, committed)
before its submit_sm leaves. A rerun that finds an attempt with no outcome recorded (the
worker died, the submit timed out, the bind dropped with it in flight) cannot know whether the
SMSC took it: it waits `sms_resubmit_after` seconds from the attempt before submitting again.
An attempt the SMSC answered with an error, or that never left, is cleared at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rcsgate.config import Settings
from rcsgate.connectors.base import Capability, ConnectorError, ErrorClass, RcsConnector
from rcsgate.content import MessageContent, render_sms
from rcsgate.content.maap import render_maap
from rcsgate.content.rbm import rbm_traffic_type, render_rbm
from rcsgate.dispatch.outgoing import (
    Effects,
    MessageAction,
    Outgoing,
    per_message,
    record_sms_attempts,
)
from rcsgate.dispatch.policy import retry_at
from rcsgate.dispatch.relay import DONE, ClaimedJob, Dead, Outcome, Retry
from rcsgate.dispatch.routing import Capabilities, Operators
from rcsgate.dispatch.sms_replies import SmsSent
from rcsgate.kit.batching import GroupCommit
from rcsgate.kit.clock import Clock
from rcsgate.messages.state import Step

SENDABLE = frozenset({"Scheduled", "Queued"})
SMS_AFTER = frozenset({"Expired", "Revoked"})
NO_RCS = "the recipient cannot receive RCS"


@dataclass
class Pipeline:
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    settings: Settings
    operators: Operators
    capabilities: Capabilities
    _attempts: GroupCommit[tuple[str, datetime]] = field(init=False)

    def __post_init__(self) -> None:
        # One commit for the SMS attempts of a batch that are about to go out together.
        self._attempts = GroupCommit(
            lambda attempts: record_sms_attempts(self.sessionmaker, attempts)
        )

    async def send_messages(self, jobs: Sequence[ClaimedJob]) -> list[Outcome]:
        return await self._run(jobs, self._send)

    async def send_sms(self, jobs: Sequence[ClaimedJob]) -> list[Outcome]:
        """The SMS attempt of a fallback, queued once the RCS attempt ended Expired/Revoked."""
        return await self._run(jobs, self._fallback)

    async def _run(self, jobs: Sequence[ClaimedJob], action: MessageAction) -> list[Outcome]:
        return await per_message(
            self.sessionmaker, self.clock, self.settings.operators, jobs, action
        )

    async def _send(self, job: ClaimedJob, message: Outgoing, effects: Effects) -> Outcome:
        if message.status not in SENDABLE:
            return DONE  # cancelled, revoked, or already sent by an earlier run
        now = self.clock.now()
        if message.expires_at is not None and message.expires_at <= now:
            self._expired(message, now, effects)
            return DONE
        connector = self.operators.rcs_for(message.launched)
        if connector is None:
            return await self._no_rcs(job, message, "no RCS operator for the agent", effects)
        # No capability lookup before a send (operators rate-limit them, and the send answers
        # the same question): a cached "no RCS" routes at once; otherwise the submit's 404
        # teaches the cache.
        known = await self.capabilities.cached(connector, message.agent_id, message.recipient)
        if known is not None and not known.rcs:
            return await self._no_rcs(job, message, NO_RCS, effects)
        return await self._submit_rcs(job, message, connector, effects)

    async def _submit_rcs(
        self, job: ClaimedJob, message: Outgoing, connector: RcsConnector, effects: Effects
    ) -> Outcome:
        submitted_at = self.clock.now()
        try:
            await connector.send(
                message.agent_id,
                message.recipient,
                message.id,
                render_for(connector.name, message.content),
                ttl_seconds=_remaining(message.expires_at, submitted_at),
                traffic_type=rbm_traffic_type(message.content),
            )
        except ConnectorError as error:
            if error.error_class is ErrorClass.UNREACHABLE:
                await self.capabilities.remember(
                    connector, message.agent_id, Capability(message.recipient, rcs=False)
                )
                return await self._no_rcs(job, message, NO_RCS, effects)
            return self._failed(job, message, error, "RCS", connector.name, effects)
        # The step is dated when the submit began, so a receipt that beat the submit's answer
        # still follows it in the journey.
        effects.step(Step(message.id, "Sent", "RCS", submitted_at, operator=connector.name))
        self._follow_ups(message, submitted_at, effects)
        return DONE

    def _follow_ups(self, message: Outgoing, sent_at: datetime, effects: Effects) -> None:
        if message.fallback_after:
            at = sent_at + timedelta(seconds=message.fallback_after)
            effects.job("fallback_check", {"messageId": message.id}, at)
        if message.expires_at is not None:
            effects.job("expire_message", {"messageId": message.id}, message.expires_at)

    def _expired(self, message: Outgoing, now: datetime, effects: Effects) -> None:
        step = Step(message.id, "Expired", message.channel, now, reason="ttl reached")
        sms = [("send_sms", {"messageId": message.id}, now)] if message.sms_fallback else []
        effects.end(step, *sms)

    async def _no_rcs(
        self, job: ClaimedJob, message: Outgoing, reason: str, effects: Effects
    ) -> Outcome:
        if not message.sms_fallback:
            now = self.clock.now()
            effects.step(Step(message.id, "Failed", "RCS", now, reason=reason))
            return DONE
        return await self._submit_sms(job, message, effects, new_attempt=False)

    async def _fallback(self, job: ClaimedJob, message: Outgoing, effects: Effects) -> Outcome:
        if message.channel == "SMS" or message.status not in SMS_AFTER:
            return DONE
        return await self._submit_sms(job, message, effects, new_attempt=True)

    async def _submit_sms(
        self, job: ClaimedJob, message: Outgoing, effects: Effects, *, new_attempt: bool
    ) -> Outcome:
        sms = self.operators.sms
        now = self.clock.now()
        if sms is None:
            effects.step(Step(message.id, "Failed", "SMS", now, reason="no SMS route"))
            return DONE
        waiting = self._unanswered_until(message, now)
        if waiting is not None:
            return Retry(waiting, "an earlier SMS submit got no answer; waiting for its receipt")
        fallback = message.content.fallback
        sender = (
            (fallback and fallback.sms and fallback.sms.sender)
            or message.sms_sender
            or self.settings.sms_sender
        )
        await self._attempts.submit((message.id, now))
        try:
            submitted = await sms.send_sms(
                sender,
                message.recipient,
                render_sms(message.content),
                message.id,
            )
        except ConnectorError as error:
            if error.unsent:
                effects.sms_unsent.append(message.id)
            return self._failed(job, message, error, "SMS", sms.name, effects)
        effects.step(
            Step(message.id, "Sent", "SMS", now, operator=sms.name, new_attempt=new_attempt)
        )
        effects.refs += [
            {"operator": sms.name, "ref": r, "message_id": message.id} for r in submitted.refs
        ]
        effects.segments[message.id] = submitted.segments
        effects.sms_sent.append(SmsSent(sms.name, sender, message.recipient, message.agent_id, now))
        return DONE

    def _unanswered_until(self, message: Outgoing, now: datetime) -> datetime | None:
        """When an earlier submit with no recorded outcome may be retried, if not yet."""
        attempted = message.sms_submit_attempted_at
        if attempted is None:
            return None
        at = attempted + timedelta(seconds=self.settings.sms_resubmit_after)
        return at if at > now else None

    def _failed(
        self,
        job: ClaimedJob,
        message: Outgoing,
        error: ConnectorError,
        channel: str,
        operator: str,
        effects: Effects,
    ) -> Outcome:
        now = self.clock.now()
        at = retry_at(error, job.attempts, now)
        if at is not None:
            return Retry(at, error.reason)
        effects.step(
            Step(message.id, "Failed", channel, now, operator=operator, reason=error.reason[:200])
        )
        if error.error_class is ErrorClass.REJECTED:
            return DONE
        return Dead(error.reason)


def render_for(operator: str, content: MessageContent) -> dict[str, Any]:
    """The message in the operator's own format."""
    if operator == "maap":
        stored = content.model_dump(mode="json", by_alias=True, exclude_none=True)
        return render_maap(stored, content.content)
    return render_rbm(content)


def _remaining(expires_at: datetime | None, now: datetime) -> int | None:
    if expires_at is None:
        return None
    return max(1, int((expires_at - now).total_seconds()))
