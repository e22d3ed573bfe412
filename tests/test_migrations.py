"""The models and the Alembic migrations describe the same schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from rcsgate.kit.migrations import upgrade_database
from rcsgate.models import Base


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []


async def test_every_model_table_was_migrated(engine: AsyncEngine) -> None:
    def table_names(connection: Connection) -> set[str]:
        from sqlalchemy import inspect

        return set(inspect(connection).get_table_names())

    async with engine.connect() as connection:
        tables = await connection.run_sync(table_names)
    assert set(Base.metadata.tables) <= tables


def test_one_open_conversation_closes_the_older_duplicates_first(tmp_path: Path) -> None:
    """Migration 0008 adds the one-open index; duplicates an earlier version let through are
    closed first (at their last activity), the newest left open, other pairs untouched."""
    path = tmp_path / "upgrade.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade_database(url, "0007")
    rows = [
        ("c1", "agent-a", "46700000001", "Open", "2026-12-01 10:00:00"),
        ("c2", "agent-a", "46700000001", "Open", "2026-12-02 10:00:00"),
        ("c3", "agent-a", "46700000001", "Open", "2026-12-03 10:00:00"),
        ("c4", "agent-a", "46700000002", "Open", "2026-12-01 10:00:00"),
        ("c5", "agent-b", "46700000001", "Closed", "2026-12-01 10:00:00"),
    ]
    with sqlite3.connect(path) as connection:
        connection.executemany(
            "INSERT INTO conversations (id, account_id, brand_id, agent_id, recipient, status, "
            "started_by, message_count, created_at, last_activity_at) "
            "VALUES (?, 'acct', 'brand', ?, ?, ?, 'Business', 1, ?, ?)",
            [(i, agent, to, status, at, at) for i, agent, to, status, at in rows],
        )

    upgrade_database(url)

    with sqlite3.connect(path) as connection:
        found = dict(connection.execute("SELECT id, status FROM conversations").fetchall())
        closed_at = connection.execute("SELECT closed_at FROM conversations WHERE id = 'c1'")
        assert closed_at.fetchone()[0].startswith("2026-12-01 10:00:00")
        with pytest.raises(sqlite3.IntegrityError):
            connection.execute(
                "UPDATE conversations SET status = 'Open' WHERE id = 'c2'"
            )  # a second open one for the pair: refused by the index
    assert found == {"c1": "Closed", "c2": "Closed", "c3": "Open", "c4": "Open", "c5": "Closed"}
