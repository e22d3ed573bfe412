"""FastAPI dependencies: the context, one unit of work per request, the calling principal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.context import AppContext
from rcsgate.gate import principal_of
from rcsgate.keys.service import Principal

# Dependencies are `async def` even where they never await: FastAPI runs a plain `def`
# dependency in a worker thread, which costs a thread hop on every request.


def context_of(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


async def get_context(request: Request) -> AppContext:
    return context_of(request)


async def unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    async with unit_of_work_of(context_of(request), request.scope.setdefault("state", {})) as s:
        yield s


@asynccontextmanager
async def unit_of_work_of(
    context: AppContext, state: dict[str, Any]
) -> AsyncIterator[AsyncSession]:
    """A request's session: commits once when the endpoint returns, before the response is
    sent; else rolls back. (`unit_of_work` for FastAPI; `direct` calls this itself.)

    Under an idempotency key the session is handed over uncommitted instead: the
    `Idempotency` middleware commits it together with the recorded response.
    """
    session = context.sessionmaker()
    try:
        yield session
    except BaseException:
        await session.rollback()
        await session.close()
        raise
    slot = state.get("idempotency")
    if slot is not None:
        slot.adopt(session)
        return
    if not _used(session):
        return  # the caches answered every read: nothing to commit or give back
    try:
        await session.commit()
    finally:
        await session.close()


def _used(session: AsyncSession) -> bool:
    """Whether the session began a transaction or holds objects (a commit or close of an
    unused one costs a greenlet switch each, and the accept path mostly leaves it unused)."""
    return bool(session.in_transaction() or session.new or session.identity_map)


def answer_recorded_in_session(request: Request) -> bool:
    """Whether the Idempotency middleware commits this request's unit of work together with
    its recorded answer: then its writes must go through the request's session."""
    return request.scope.get("state", {}).get("idempotency") is not None


async def current_principal(request: Request) -> Principal:
    return principal_of(request.scope["state"])


Context = Annotated[AppContext, Depends(get_context)]
# scope="function": the commit happens before the response goes out, so a 201 means stored.
Session = Annotated[AsyncSession, Depends(unit_of_work, scope="function")]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
