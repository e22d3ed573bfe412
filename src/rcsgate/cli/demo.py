"""The demo account a first `rcsgate serve` makes, so a new user can send at once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select

from rcsgate.accounts.service import create_account
from rcsgate.agents.schemas import AgentCreate
from rcsgate.agents.service import create_agent, record_launch_result
from rcsgate.brands.schemas import BrandCreate
from rcsgate.brands.service import create_brand
from rcsgate.context import AppContext
from rcsgate.keys.service import create_key
from rcsgate.models import Account
from rcsgate.senders.service import add_sender

DEMO_EMAIL = "demo@rcsgate.local"
DEMO_SMS_SENDER = "DemoStore"


@dataclass(frozen=True)
class DemoCredentials:
    account_id: str
    email: str
    password: str
    api_key: str
    brand: str
    agent: str


async def seed_demo(context: AppContext) -> DemoCredentials | None:
    """Only into an empty database; returns the secrets, which are not stored in clear."""
    async with context.sessionmaker.begin() as session:
        if await session.scalar(select(func.count()).select_from(Account)):
            return None
        clock, settings = context.clock, context.settings
        password = secrets.token_urlsafe(12)
        account = await create_account(
            session,
            clock,
            name="Demo",
            email=DEMO_EMAIL,
            currency=settings.currency,
            rate_limit=settings.default_rate_limit,
            password=password,
        )
        _key, token = await create_key(session, clock, account_id=account.id, name="demo")
        brand = await create_brand(
            session,
            clock,
            account.id,
            BrandCreate(display_name="Demo Store", website="https://example.com"),
        )
        view = await create_agent(
            session,
            clock,
            account.id,
            brand.brand_name,
            AgentCreate(
                display_name="Support",
                description="Demo agent",
                color="#1A73E8",
                sms_sender=DEMO_SMS_SENDER,
            ),
        )
        await add_sender(session, clock, account.id, DEMO_SMS_SENDER, verified_by="demo seed")
        # The demo agent talks to the built-in simulator, so it starts launched everywhere.
        for operator in settings.operators:
            await record_launch_result(session, clock, view.agent, operator, "Launched")
        return DemoCredentials(
            account.id, DEMO_EMAIL, password, token, brand.brand_name, view.agent.agent_name
        )
