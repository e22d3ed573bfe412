"""Group commit for starting conversations: starts that arrive together share one transaction.

A request validates and reads outside any write transaction, builds its rows as plain dicts
(`NewConversation`), hands them to the process's `StartCommitter` and answers 201 only once
the transaction that holds them committed: a 201 still means stored. The rows of a whole
batch go in as one multi-row INSERT per table (Core, no ORM unit of work), after one UPDATE
that closes every open conversation of the batch's agent-and-recipient pairs.

If the batch fails (a uniqueId taken, two starts for the same agent and recipient in one
batch, a lost connection), kit.batching retries its starts one by one, each in its own
transaction, so one bad start fails only its own request.

Requests with an Idempotency-Key do not come here: the Idempotency middleware records their
answer in the request's own transaction, so they run `write_starts` in that session instead
(the same statements, one start).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rcsgate.conversations.repository import ConversationRepository
from rcsgate.kit.batching import TransactionGroupCommit
from rcsgate.kit.clock import Clock
from rcsgate.models import Conversation, Job, Message
from rcsgate.webhooks import emit as webhooks

CONVERSATIONS = cast(Table, Conversation.__table__)
MESSAGES = cast(Table, Message.__table__)
JOBS = cast(Table, Job.__table__)
MAX_BATCH = 256


class SameRecipientInBatch(Exception):
    """Two starts for one agent and recipient: the later must close the earlier, so they are
    written one after another (the one-by-one fallback) rather than side by side."""


@dataclass(frozen=True, slots=True)
class NewConversation:
    """One start as rows: the conversation, its first message and that message's send job."""

    conversation: dict[str, Any]
    message: dict[str, Any]
    job: dict[str, Any]

    @property
    def pair(self) -> tuple[str, str]:
        return (self.conversation["agent_id"], self.conversation["recipient"])


async def write_starts(
    session: AsyncSession, starts: list[NewConversation], *, clock: Clock
) -> None:
    """The statements of `starts`, in the caller's transaction: a constant number whatever
    the number of starts (close, three INSERTs, the webhook events)."""
    pairs = [start.pair for start in starts]
    if len(set(pairs)) != len(pairs):
        raise SameRecipientInBatch
    closed = await ConversationRepository(session).close_open_pairs(pairs, clock.now())
    await webhooks.conversations(session, closed, "conversation.closed")
    await session.execute(insert(CONVERSATIONS), [start.conversation for start in starts])
    await session.execute(insert(MESSAGES), [start.message for start in starts])
    await session.execute(insert(JOBS), [start.job for start in starts])
    started = [start.conversation["id"] for start in starts]
    await webhooks.conversations(session, started, "conversation.started")


class StartCommitter:
    """The process's committer of conversation starts (one per AppContext)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._group: TransactionGroupCommit[NewConversation] = TransactionGroupCommit(
            sessionmaker, partial(write_starts, clock=clock), MAX_BATCH
        )

    async def commit(self, start: NewConversation) -> None:
        """Returns once `start` is committed; raises what its own one-by-one write raised."""
        await self._group.submit(start)
