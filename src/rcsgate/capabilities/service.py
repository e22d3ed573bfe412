"""Capability lookups through the agent's operator and the shared cache."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.capabilities.schemas import CapabilityRead
from rcsgate.connectors.base import ConnectorError, RcsConnector
from rcsgate.context import AppContext
from rcsgate.dispatch.outgoing import launched_operators
from rcsgate.dispatch.routing import CapabilityAnswer
from rcsgate.errors import FieldError, NotFound, ServiceUnavailable, ValidationFailed
from rcsgate.kit.phone import normalize_number
from rcsgate.models import Agent


async def lookup(
    session: AsyncSession, context: AppContext, account_id: str, agent: str, numbers: Sequence[str]
) -> list[CapabilityRead]:
    msisdns = _numbers(numbers)
    agent_id, connector = await _operator(session, context, account_id, agent)
    try:
        answers = await asyncio.gather(
            *(context.capabilities.lookup(connector, agent_id, m) for m in msisdns)
        )
    except ConnectorError as error:
        raise ServiceUnavailable(f"The operator did not answer: {error.reason}") from error
    return [_read(answer) for answer in answers]


def _numbers(numbers: Sequence[str]) -> list[str]:
    found, errors = [], []
    for index, number in enumerate(numbers):
        try:
            found.append(normalize_number(number))
        except ValueError as error:
            errors.append(FieldError(f"/recipients/{index}", str(error)))
    if errors:
        raise ValidationFailed("Some numbers are not valid", errors=errors)
    return found


async def _operator(
    session: AsyncSession, context: AppContext, account_id: str, name: str
) -> tuple[str, RcsConnector]:
    key = name.casefold()
    agent_ids = (
        await session.scalars(
            select(Agent.id)
            .where(Agent.account_id == account_id, Agent.deleted_at.is_(None))
            .where(or_(Agent.name_key == key, Agent.display_key == key))
            .order_by(Agent.id)
        )
    ).all()
    if not agent_ids:
        raise NotFound(f"No agent {name!r}")
    launched = await launched_operators(session, agent_ids, context.settings.operators)
    for agent_id in agent_ids:
        connector = context.operators.rcs_for(launched.get(agent_id, ()))
        if connector is not None:
            return agent_id, connector
    raise ServiceUnavailable(f"Agent {name!r} is not launched at a connected operator")


def _read(answer: CapabilityAnswer) -> CapabilityRead:
    return CapabilityRead.model_validate(
        {
            "recipient": answer.recipient,
            "rcs": answer.rcs,
            "features": list(answer.features),
            "source": answer.source,
            "checked": answer.checked,
        }
    )
