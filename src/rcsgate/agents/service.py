"""Agents: sender profiles under a brand, and their launch at the operators.

A launch request moves the agent to Submitted at every configured operator; the operators'
answers (Launched or Rejected per operator) arrive through the dispatch pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.agents.cache import Sender, by_names, forget_senders, senders
from rcsgate.agents.repository import AgentRepository
from rcsgate.agents.schemas import AgentCreate, AgentUpdate
from rcsgate.brands.service import get_brand
from rcsgate.dispatch.jobs import enqueue
from rcsgate.errors import AlreadyExists, Conflict, NotFound
from rcsgate.kit.clock import Clock
from rcsgate.kit.pagination import Page, PageParams, paginate
from rcsgate.kit.schemas import slugify
from rcsgate.models import Agent, AgentOperator, Brand
from rcsgate.webhooks import emit as webhooks


class AgentAlreadyLaunched(Conflict):
    slug, title = "agent-already-launched", "The agent is already launched"


@dataclass(frozen=True, slots=True)
class AgentView:
    agent: Agent
    brand: Brand
    operators: Sequence[AgentOperator]


async def _views(session: AsyncSession, brand: Brand, agents: Sequence[Agent]) -> list[AgentView]:
    operators = await AgentRepository(session).operators([agent.id for agent in agents])
    return [AgentView(agent, brand, operators.get(agent.id, [])) for agent in agents]


async def _view(session: AsyncSession, brand: Brand, agent: Agent) -> AgentView:
    return (await _views(session, brand, [agent]))[0]


async def create_agent(
    session: AsyncSession, clock: Clock, account_id: str, brand_name: str, data: AgentCreate
) -> AgentView:
    brand = await get_brand(session, account_id, brand_name)
    agent_name = data.agent_name or slugify(data.display_name)
    repository = AgentRepository(session)
    if await repository.name_taken(brand.id, agent_name.casefold()):
        raise AlreadyExists(f"Brand {brand.brand_name!r} has an agent named {agent_name!r}")
    now = clock.now()
    agent = Agent(
        account_id=account_id,
        brand_id=brand.id,
        agent_name=agent_name,
        name_key=agent_name.casefold(),
        display_key=data.display_name.casefold(),
        status="Draft",
        created_at=now,
        modified_at=now,
        **data.model_dump(exclude={"agent_name"}),
    )
    repository.add(agent)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent create won the unique index
        raise AlreadyExists(
            f"Brand {brand.brand_name!r} has an agent named {agent_name!r}"
        ) from exc
    forget_senders(session, account_id)
    return AgentView(agent, brand, [])


async def list_agents(
    session: AsyncSession, account_id: str, brand_name: str, params: PageParams
) -> tuple[Page[Agent], list[AgentView]]:
    brand = await get_brand(session, account_id, brand_name)
    page = await paginate(session, AgentRepository(session).live(brand.id), params, Agent.id)
    return page, await _views(session, brand, page.items)


async def _find(
    session: AsyncSession, account_id: str, brand_name: str, name: str
) -> tuple[Brand, Agent]:
    brand = await get_brand(session, account_id, brand_name)
    agent = await AgentRepository(session).find(brand.id, name)
    if agent is None:
        raise NotFound(f"Brand {brand.brand_name!r} has no agent {name!r}")
    return brand, agent


async def get_agent(
    session: AsyncSession, account_id: str, brand_name: str, name: str
) -> AgentView:
    brand, agent = await _find(session, account_id, brand_name, name)
    return await _view(session, brand, agent)


async def update_agent(
    session: AsyncSession,
    clock: Clock,
    account_id: str,
    brand_name: str,
    name: str,
    data: AgentUpdate,
) -> AgentView:
    brand, agent = await _find(session, account_id, brand_name, name)
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(agent, field, value)
    if "display_name" in data.model_fields_set:
        agent.display_key = agent.display_name.casefold()
    agent.modified_at = clock.now()
    await session.flush()
    forget_senders(session, account_id)
    return await _view(session, brand, agent)


async def delete_agent(
    session: AsyncSession, clock: Clock, account_id: str, brand_name: str, name: str
) -> AgentView:
    brand, agent = await _find(session, account_id, brand_name, name)
    agent.deleted_at = agent.modified_at = clock.now()
    await session.flush()
    forget_senders(session, account_id)
    return await _view(session, brand, agent)


async def launch_agent(
    session: AsyncSession,
    clock: Clock,
    account_id: str,
    brand_name: str,
    name: str,
    operators: Sequence[str],
) -> AgentView:
    """Record a launch request at every operator not already launched or asked."""
    brand, agent = await _find(session, account_id, brand_name, name)
    if agent.status == "Launched":
        raise AgentAlreadyLaunched(f"{agent.agent_name!r} is launched")
    now = clock.now()
    repository = AgentRepository(session)
    existing = {
        row.operator: row for row in (await repository.operators([agent.id])).get(agent.id, [])
    }
    for operator in operators:
        row = existing.get(operator)
        if row is None:
            repository.add(
                AgentOperator(
                    agent_id=agent.id, operator=operator, status="Submitted", modified_at=now
                )
            )
        elif row.status == "Rejected":
            row.status, row.modified_at = "Submitted", now
    agent.status, agent.modified_at = "Submitted", now
    enqueue(session, clock, "launch_agent", {"agentId": agent.id, "operators": list(operators)})
    await session.flush()
    forget_senders(session, account_id)
    await webhooks.agent_status(session, agent.id, now)
    return await _view(session, brand, agent)


async def record_launch_result(
    session: AsyncSession, clock: Clock, agent: Agent, operator: str, status: str
) -> None:
    """An operator's answer to a launch request; the agent is Launched once any operator is."""
    now = clock.now()
    repository = AgentRepository(session)
    rows = (await repository.operators([agent.id])).get(agent.id, [])
    row = next((r for r in rows if r.operator == operator), None)
    before = (agent.status, row.status if row is not None else None)
    if row is None:
        row = AgentOperator(agent_id=agent.id, operator=operator, status=status, modified_at=now)
        repository.add(row)
        rows = [*rows, row]
    else:
        row.status, row.modified_at = status, now
    statuses = {r.status for r in rows}
    if "Launched" in statuses:
        agent.status = "Launched"
    elif statuses == {"Rejected"}:
        agent.status = "Rejected"
    agent.modified_at = now
    await session.flush()
    forget_senders(session, agent.account_id)
    if (agent.status, status) != before:
        await webhooks.agent_status(session, agent.id, now)


class AgentNotLaunched(Conflict):
    slug, title = "agent-not-launched", "The agent is not launched on any operator"


async def sending_agent(
    session: AsyncSession, account_id: str, brand_name: str, name: str
) -> Sender:
    """The brand and agent a send names; 409 unless the agent is launched somewhere.

    From this process's sender cache when it holds them (see agents/cache.py); when its entry
    expires, the sends that miss it together share one lookup (in the first one's session)."""

    async def lookup() -> Sender:
        found = await AgentRepository(session).with_brand(account_id, brand_name, name)
        # One query when both exist; the slower path only to say which one does not.
        brand, agent = found or await _find(session, account_id, brand_name, name)
        if agent.status != "Launched":
            raise AgentNotLaunched(
                f"Agent {agent.agent_name!r} is {agent.status}; launch it before sending"
            )
        return Sender.of(brand, agent)

    cache = senders(session)
    if cache is None:
        return await lookup()
    sender, _ = await cache.get_or_load(by_names(account_id, brand_name, name), lookup)
    assert sender is not None  # lookup returns a sender or raises
    return sender
