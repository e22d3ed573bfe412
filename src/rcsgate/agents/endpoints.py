from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status

from rcsgate.agents import service
from rcsgate.agents.schemas import AgentCreate, AgentOperatorRead, AgentRead, AgentUpdate
from rcsgate.dependencies import Context, CurrentPrincipal, Session
from rcsgate.errors import AlreadyExists, NotFound, problem_schema
from rcsgate.kit.pagination import PageParams, page_params, set_page_headers

router = APIRouter(tags=["Agents"])
Paging = Annotated[PageParams, Depends(page_params)]
AGENT_PATH = "/brands/{brandName}/agents/{agentName}"
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: problem_schema(NotFound, "No such brand or agent")
}


def agent_read(view: service.AgentView) -> AgentRead:
    agent = view.agent
    return AgentRead.model_validate(
        {
            **{
                field: getattr(agent, field)
                for field in AgentRead.model_fields
                if hasattr(agent, field)
            },
            "brand_name": view.brand.brand_name,
            "operators": [AgentOperatorRead.model_validate(row) for row in view.operators],
            "created": agent.created_at,
            "modified": agent.modified_at,
        }
    )


@router.get(
    "/brands/{brandName}/agents",
    response_model=list[AgentRead],
    summary="List a brand's agents",
    responses=NOT_FOUND,
)
async def list_agents(
    brandName: str,
    request: Request,
    response: Response,
    session: Session,
    principal: CurrentPrincipal,
    paging: Paging,
) -> list[AgentRead]:
    page, views = await service.list_agents(session, principal.account_id, brandName, paging)
    set_page_headers(response, request.url, page)
    return [agent_read(view) for view in views]


@router.post(
    "/brands/{brandName}/agents",
    response_model=AgentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create an agent (status Draft)",
    responses={
        **NOT_FOUND,
        409: problem_schema(AlreadyExists, "The brand has an agent of that name"),
    },
)
async def create_agent(
    brandName: str,
    body: AgentCreate,
    response: Response,
    session: Session,
    context: Context,
    principal: CurrentPrincipal,
) -> AgentRead:
    view = await service.create_agent(session, context.clock, principal.account_id, brandName, body)
    response.headers["Location"] = (
        f"/v3/brands/{view.brand.brand_name}/agents/{view.agent.agent_name}"
    )
    return agent_read(view)


@router.get(AGENT_PATH, response_model=AgentRead, summary="One agent", responses=NOT_FOUND)
async def get_agent(
    brandName: str,
    agentName: str,
    session: Session,
    principal: CurrentPrincipal,
) -> AgentRead:
    return agent_read(await service.get_agent(session, principal.account_id, brandName, agentName))


@router.patch(
    AGENT_PATH,
    response_model=AgentRead,
    summary="Change an agent (merge patch)",
    responses=NOT_FOUND,
)
async def update_agent(
    brandName: str,
    agentName: str,
    body: AgentUpdate,
    session: Session,
    context: Context,
    principal: CurrentPrincipal,
) -> AgentRead:
    view = await service.update_agent(
        session, context.clock, principal.account_id, brandName, agentName, body
    )
    return agent_read(view)


@router.delete(AGENT_PATH, response_model=AgentRead, summary="Delete an agent", responses=NOT_FOUND)
async def delete_agent(
    brandName: str,
    agentName: str,
    session: Session,
    context: Context,
    principal: CurrentPrincipal,
) -> AgentRead:
    view = await service.delete_agent(
        session, context.clock, principal.account_id, brandName, agentName
    )
    return agent_read(view)


@router.post(
    AGENT_PATH + "/launch",
    response_model=AgentRead,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ask the operators to launch the agent",
    responses={**NOT_FOUND, 409: problem_schema(service.AgentAlreadyLaunched)},
)
async def launch_agent(
    brandName: str,
    agentName: str,
    session: Session,
    context: Context,
    principal: CurrentPrincipal,
) -> AgentRead:
    view = await service.launch_agent(
        session,
        context.clock,
        principal.account_id,
        brandName,
        agentName,
        context.settings.operators,
    )
    return agent_read(view)
