"""Offset pagination for every collection: `start`, `limit`, `order`, a `Link` header, a total.

The order is creation time, then id. Ids are time-ordered (`kit.ids`), so ordering by id alone
gives exactly that order and lets one index serve every page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Query
from pydantic import BeforeValidator
from sqlalchemy import Select, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from starlette.datastructures import URL
from starlette.responses import Response

MAX_LIMIT = 1000
# Far past any collection; bounded so the database never sees an integer it cannot hold.
MAX_START = 2**31 - 1
DEFAULT_LIMIT = 50

T = TypeVar("T")


class Order(StrEnum):
    ASC = "ASC"
    DESC = "DESC"


@dataclass(frozen=True, slots=True)
class PageParams:
    start: int = 0
    limit: int = DEFAULT_LIMIT
    order: Order = Order.ASC


async def page_params(
    start: Annotated[int, Query(ge=0, le=MAX_START, description="Offset of the first item.")] = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Items per page, 1 to 1000.")
    ] = DEFAULT_LIMIT,
    order: Annotated[
        Literal["ASC", "DESC"],
        BeforeValidator(lambda value: value.upper() if isinstance(value, str) else value),
        Query(description="`ASC` or `DESC`, in any case: by creation time, then id."),
    ] = "ASC",
) -> PageParams:
    return PageParams(start=start, limit=limit, order=Order(order))


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    params: PageParams


async def paginate(
    session: AsyncSession,
    statement: Select[T],
    params: PageParams,
    sort_key: InstrumentedAttribute[Any],
) -> Page[T]:
    """One page of `statement` (a plain filtered select of one entity) by `sort_key`, its
    primary key. The count and the offset walk only the index (`SELECT count(*)` on the same
    filters; the page's keys first, then their rows), never the table's rows."""
    total = await session.scalar(statement.with_only_columns(func.count()).order_by(None))
    ordering = sort_key.desc() if params.order is Order.DESC else sort_key.asc()
    keys = (
        statement.with_only_columns(sort_key)
        .order_by(ordering)
        .offset(params.start)
        .limit(params.limit)
    )
    rows = await session.scalars(statement.where(sort_key.in_(keys)).order_by(ordering))
    return Page(items=rows.all(), total=total or 0, params=params)


def page_starts(params: PageParams, total: int) -> dict[str, int]:
    """The `start` of each related page; prev and next only where they exist."""
    start, limit = params.start, params.limit
    if total == 0:
        last = 0
    elif start < total:
        last = start + ((total - 1 - start) // limit) * limit
    else:
        last = ((total - 1) // limit) * limit
    starts = {"self": start, "first": 0}
    if start > 0:
        starts["prev"] = max(0, min(start - limit, last))
    if start + limit < total:
        starts["next"] = start + limit
    starts["last"] = last
    return starts


def link_header(url: URL, params: PageParams, total: int) -> str:
    links = []
    for rel, start in page_starts(params, total).items():
        target = url.include_query_params(start=start, limit=params.limit, order=params.order.value)
        links.append(f'<{target}>; rel="{rel}"')
    return ", ".join(links)


def set_page_headers(response: Response, url: URL, page: Page[Any]) -> None:
    response.headers["Link"] = link_header(url, page.params, page.total)
    response.headers["X-Total-Count"] = str(page.total)
