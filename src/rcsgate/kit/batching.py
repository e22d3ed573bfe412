"""Callers that arrive together share one round trip.

`Batcher`: calls made while a batch is running wait for the next one, which handles all of
them at once (one MGET, one transaction); each caller gets its own result. Under load, one
statement carries many items instead of one each. If a batch fails, its items are retried one
by one, so one bad item fails only its caller.

With `in_flight` above 1, up to that many batches run at once: callers arriving while every
runner is busy form the next batch, which starts as soon as a runner is free. The write path
of an accept spends most of a batch waiting on the database (the commit's WAL flush); several
transactions in flight keep the process busy meanwhile, and PostgreSQL flushes concurrent
commits together.

`GroupCommit` is the writing kind: each caller returns only once its own items are committed,
so an acknowledgement still means "stored". `TransactionGroupCommit` is a GroupCommit whose
batch is written in one transaction of a new session (the accept path's committers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

T = TypeVar("T")
R = TypeVar("R")


def writers_in_flight(dialect: str) -> int:
    """Batches a committer writes at once: several on PostgreSQL, whose transactions run side
    by side; one on SQLite, which has one writer."""
    return 4 if dialect == "postgresql" else 1


class Batcher(Generic[T, R]):
    def __init__(
        self,
        run: Callable[[list[T]], Awaitable[Sequence[R]]],
        max_items: int = 500,
        *,
        one_by_one: bool = True,
        in_flight: int = 1,
    ) -> None:
        """`one_by_one=False`: a failed batch fails each of its callers with its error, not
        retried (for a `run` that must not be repeated, or whose failure is everyone's).
        `in_flight`: how many batches may run at once (for a `run` whose batches may)."""
        self._run = run
        self._max = max_items
        self._one_by_one_on_failure = one_by_one
        self._in_flight = in_flight
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()  # held: the loop keeps weak references

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._running < self._in_flight:
            self._running += 1  # until _drain returns, in the same step as its last check
            runner = asyncio.create_task(self._drain())
            self._tasks.add(runner)
            runner.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self) -> None:
        try:
            await self._drain_waiting()
        finally:
            self._running -= 1

    async def _drain_waiting(self) -> None:
        await asyncio.sleep(0)  # let callers arriving in the same tick join the first batch
        while self._waiting:
            batch, self._waiting = self._waiting[: self._max], self._waiting[self._max :]
            try:
                results = await self._run([item for item, _ in batch])
            except Exception as error:
                if self._one_by_one_on_failure:
                    await self._one_by_one(batch)
                else:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _one_by_one(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        for item, future in batch:
            try:
                (result,) = await self._run([item])
            except Exception as error:
                if not future.done():
                    future.set_exception(error)
            else:
                if not future.done():
                    future.set_result(result)


class GroupCommit(Batcher[T, None]):
    def __init__(
        self,
        write: Callable[[list[T]], Awaitable[None]],
        max_items: int = 500,
        *,
        in_flight: int = 1,
    ) -> None:
        async def run(items: list[T]) -> list[None]:
            await write(items)
            return [None] * len(items)

        super().__init__(run, max_items, in_flight=in_flight)


class TransactionGroupCommit(GroupCommit[T]):
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        write: Callable[[AsyncSession, list[T]], Awaitable[None]],
        max_items: int = 500,
        *,
        in_flight: int = 1,
    ) -> None:
        async def in_transaction(items: list[T]) -> None:
            async with sessionmaker.begin() as session:
                await write(session, items)

        super().__init__(in_transaction, max_items, in_flight=in_flight)
