"""Alembic environment: async engines, SQLite and PostgreSQL from one set of migrations."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from rcsgate.config import Settings
from rcsgate.kit.db import create_engine
from rcsgate.models import Base

target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(url: str) -> None:
    engine = create_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_configure)
        await connection.commit()
    await engine.dispose()


def _url() -> str:
    return context.config.attributes.get("url") or Settings().resolved_database_url


connection = context.config.attributes.get("connection")
if connection is not None:
    _configure(connection)
else:
    asyncio.run(_run_online(_url()))
