"""Fast deep pages and totals for append-only collections ordered by time-ordered ids.

A row whose id is older than SETTLE_SECONDS was committed long ago (no transaction runs that
long), and a collection that only grows, filtered on columns that never change, keeps exactly
the same set of such rows forever. So, per query, this remembers:
- how many settled rows it has (the total is that plus a live count of the recent tail), and
- anchors: the id found at a position, so a page deep in the settled part starts its index walk
  at the nearest anchor below instead of at the beginning.
Nothing here can go stale; the cost of a first visit is one ordinary count and walk.

Only for statements whose filters are immutable columns of append-only tables (messages by
account, recipient, direction, creation time); anything filtered on a status must not use it.
"""

from __future__ import annotations

import bisect
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Select, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from rcsgate.kit.ids import id_floor
from rcsgate.kit.pagination import Order, Page, PageParams

SETTLE_SECONDS = 600
MAX_QUERIES = 10_000
MAX_ANCHORS = 10_000

T = TypeVar("T")


@dataclass
class _Settled:
    boundary: str  # every id below it is settled
    count: int  # rows of the query below the boundary
    positions: list[int] = field(default_factory=list)  # sorted; anchors[i] is at positions[i]
    anchors: list[str] = field(default_factory=list)

    def nearest(self, position: int) -> tuple[int, str | None]:
        index = bisect.bisect_right(self.positions, position) - 1
        return (self.positions[index], self.anchors[index]) if index >= 0 else (0, None)

    def remember(self, position: int, key: str) -> None:
        index = bisect.bisect_left(self.positions, position)
        if index < len(self.positions) and self.positions[index] == position:
            return
        if len(self.positions) < MAX_ANCHORS and key < self.boundary:
            self.positions.insert(index, position)
            self.anchors.insert(index, key)


class SettledPages:
    """Per process; see the module docstring for why nothing it holds goes stale."""

    def __init__(self, wall_time: Any = time.time) -> None:
        self._queries: OrderedDict[str, _Settled] = OrderedDict()
        self._wall_time = wall_time  # ids carry wall-clock time, so this is the wall clock

    async def page(
        self,
        session: AsyncSession,
        statement: Select[T],
        params: PageParams,
        sort_key: InstrumentedAttribute[Any],
        query_key: str,
    ) -> Page[T]:
        settled = await self._settled(session, statement, sort_key, query_key)
        tail = await _count(session, statement.where(sort_key >= settled.boundary))
        total = settled.count + tail
        first, size = _ascending_window(params, total)
        if size <= 0:
            return Page(items=[], total=total, params=params)
        keys = await self._keys(session, statement, sort_key, (first, size, total), settled)
        if keys:
            settled.remember(first, keys[0])
        rows = (
            await session.scalars(statement.where(sort_key.in_(keys)).order_by(sort_key.asc()))
        ).all()
        items = list(reversed(rows)) if params.order is Order.DESC else list(rows)
        return Page(items=items, total=total, params=params)

    async def _settled(
        self,
        session: AsyncSession,
        statement: Select[T],
        sort_key: InstrumentedAttribute[Any],
        query_key: str,
    ) -> _Settled:
        boundary = id_floor(int((self._wall_time() - SETTLE_SECONDS) * 1000))
        settled = self._queries.get(query_key)
        if settled is None:
            count = await _count(session, statement.where(sort_key < boundary))
            settled = _Settled(boundary, count)
            self._queries[query_key] = settled
            if len(self._queries) > MAX_QUERIES:
                self._queries.popitem(last=False)
        elif settled.boundary < boundary:
            newly = statement.where(sort_key >= settled.boundary, sort_key < boundary)
            settled.count += await _count(session, newly)
            settled.boundary = boundary
        self._queries.move_to_end(query_key)
        return settled

    async def _keys(
        self,
        session: AsyncSession,
        statement: Select[T],
        sort_key: InstrumentedAttribute[Any],
        window: tuple[int, int, int],
        settled: _Settled,
    ) -> list[str]:
        """The page's ids in ascending order, walking the index from wherever is nearest:
        the closest anchor below the page, or the newest end."""
        first, size, total = window
        position, anchor = settled.nearest(first)
        keys = statement.with_only_columns(sort_key)
        from_end = total - first - size
        if from_end < first - position:
            newest = keys.order_by(sort_key.desc()).offset(from_end).limit(size)
            return [str(key) for key in reversed((await session.scalars(newest)).all())]
        if anchor is not None:
            keys = keys.where(sort_key >= anchor)
        oldest = keys.order_by(sort_key.asc()).offset(first - position).limit(size)
        return [str(key) for key in await session.scalars(oldest)]


async def _count(session: AsyncSession, statement: Select[Any]) -> int:
    return int(await session.scalar(statement.with_only_columns(func.count()).order_by(None)) or 0)


def _ascending_window(params: PageParams, total: int) -> tuple[int, int]:
    """The page as (first ascending position, size); a DESC page is an ASC one reversed."""
    if params.order is Order.ASC:
        return params.start, min(params.limit, total - params.start)
    end = total - params.start  # exclusive, in ascending positions
    return max(0, end - params.limit), min(params.limit, end)
