"""Group commit for small bundles: bundles that arrive together share one transaction.

A bundle of at most GROUPED_RECIPIENTS recipients is validated and read outside any write
transaction, built as plain rows (`NewBundle`) and handed to the process's BundleCommitter;
the request answers 201 once the transaction holding its rows committed. A batch is one
multi-row INSERT per table (messages by COPY on PostgreSQL); a failing batch is retried one
bundle per transaction, so a bad bundle fails only its own request.

Bigger bundles, and requests whose answer the Idempotency middleware records in the request's
transaction (an Idempotency-Key or a uniqueId), are written by `write_bundles` in the request's
own session: the same statements, with the messages streamed in batches so a 100,000-recipient
bundle never holds all its rows in memory or its neighbours in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rcsgate.kit.batching import TransactionGroupCommit
from rcsgate.kit.db import bulk_insert
from rcsgate.models import Bundle, BundleTag, Job, Message

GROUPED_RECIPIENTS = 100
MAX_BATCH = 256
BUNDLES = cast(Table, Bundle.__table__)
TAGS = cast(Table, BundleTag.__table__)
MESSAGES = cast(Table, Message.__table__)
JOBS = cast(Table, Job.__table__)


@dataclass(frozen=True, slots=True)
class NewBundle:
    """One bundle as rows. `messages` is a list when the bundle is grouped (a retried batch
    reads it again), an iterator when it is written on its own (read once, in batches)."""

    bundle: dict[str, Any]
    tags: list[dict[str, Any]]
    messages: Iterable[Mapping[str, Any]]
    job: dict[str, Any]


async def write_bundles(session: AsyncSession, bundles: list[NewBundle]) -> None:
    """The statements of `bundles`, in the caller's transaction."""
    await session.execute(insert(BUNDLES), [new.bundle for new in bundles])
    tags = [tag for new in bundles for tag in new.tags]
    if tags:
        await session.execute(insert(TAGS), tags)
    await bulk_insert(session, MESSAGES, (row for new in bundles for row in new.messages))
    await session.execute(insert(JOBS), [new.job for new in bundles])


class BundleCommitter:
    """The process's committer of small bundles (one per AppContext)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], in_flight: int = 1) -> None:
        """`in_flight`: batches written at once (`kit.batching.writers_in_flight`; small
        bundles conflict with nothing, so their transactions may overlap)."""
        self._group: TransactionGroupCommit[NewBundle] = TransactionGroupCommit(
            sessionmaker, write_bundles, MAX_BATCH, in_flight=in_flight
        )

    async def commit(self, bundle: NewBundle) -> None:
        """Returns once `bundle` is committed; raises what its own one-by-one write raised."""
        await self._group.submit(bundle)
