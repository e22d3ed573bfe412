"""PostgreSQL restarted in the middle of a run: requests meanwhile get 503 (never a 500, never
a 201 for something not stored), and everything that got a 201 is sent and ends final."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from rcsgate.messages.state import FINAL
from rcsgate.models import Message
from tests.conftest import Tenant
from tests.fixtures.database import backend
from tests.fixtures.messaging import Sender
from tests.fixtures.platform import Platform, platform

__all__ = ["platform"]
pytestmark = pytest.mark.skipif(backend() != "postgres", reason="restarts PostgreSQL")
MAX_SENDS = 2_000
SENDS_AFTER_RESTART = 20


@pytest.fixture
def token(tenant: Tenant) -> str:
    return tenant.token


def restart_postgres() -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
        check=True,
        capture_output=True,
    )


async def test_a_database_restart_loses_nothing_accepted(
    platform: Platform, sender: Sender, engine: AsyncEngine
) -> None:
    accepted: list[str] = []
    refused: list[int] = []
    running, restarted = asyncio.Event(), asyncio.Event()
    body = {"brand": sender.brand, "agent": sender.agent, "content": "Hej!"}

    async def send_all() -> None:
        """Sends until a few have gone out after the restart is over, so some always fall
        into it however fast an accept is (a fixed count could all finish before it)."""
        after = 0
        for i in range(MAX_SENDS):
            response = await platform.api.post(
                "/v3/conversations", json={**body, "recipient": f"4670100{i:04d}"}
            )
            if response.status_code == 201:
                accepted.append(response.json()["id"])
                if len(accepted) == 10:
                    running.set()
            else:
                refused.append(response.status_code)
            if restarted.is_set():
                after += 1
                if after == SENDS_AFTER_RESTART:
                    return
            await asyncio.sleep(0.01)  # spread the sends over the restart

    sending = asyncio.create_task(send_all())
    await running.wait()
    await asyncio.to_thread(restart_postgres)
    restarted.set()
    await sending
    await engine.dispose()  # connections of the old server are gone
    assert set(refused) <= {503}
    assert refused, "no request fell into the restart"

    async def all_final() -> bool:
        await platform.run_jobs()
        async with platform.context.sessionmaker() as session:
            stored = set(
                (await session.scalars(select(Message.id).where(Message.id.in_(accepted)))).all()
            )
            open_ = await session.scalar(
                select(func.count()).select_from(Message).where(Message.status.not_in(FINAL))
            )
        assert stored == set(accepted)  # every 201 was durably stored
        return open_ == 0

    await platform.wait_until(all_final)
