from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from rcsgate.capabilities import service
from rcsgate.capabilities.schemas import CapabilitiesQuery, CapabilityRead
from rcsgate.dependencies import Context, CurrentPrincipal, Session
from rcsgate.errors import NotFound, ServiceUnavailable, problem_schema

router = APIRouter(tags=["Capabilities"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    404: problem_schema(NotFound, "No such agent"),
    503: problem_schema(ServiceUnavailable, "The operator did not answer"),
}


@router.get(
    "/capabilities/{number}",
    response_model=CapabilityRead,
    summary="Whether a number can get RCS from an agent",
    responses=RESPONSES,
)
async def get_capability(
    number: str,
    agent: Annotated[str, Query(description="The agent, by name or display name")],
    session: Session,
    context: Context,
    principal: CurrentPrincipal,
) -> CapabilityRead:
    [found] = await service.lookup(session, context, principal.account_id, agent, [number])
    return found


@router.post(
    "/capabilities",
    response_model=list[CapabilityRead],
    summary="Capabilities of up to 1,000 numbers",
    responses=RESPONSES,
)
async def query_capabilities(
    query: CapabilitiesQuery, session: Session, context: Context, principal: CurrentPrincipal
) -> list[CapabilityRead]:
    return await service.lookup(
        session, context, principal.account_id, query.agent, query.recipients
    )
