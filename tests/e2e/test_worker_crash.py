"""A `rcsgate worker` process killed with SIGKILL mid-batch, then another started: every
message is submitted at least once, never as two operator messages, and all end final."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from rcsgate.messages.state import FINAL
from rcsgate.models import Job, Message
from rcsgate.simulator.phones import behaviour_of
from tests.conftest import Tenant
from tests.fixtures.messaging import Sender
from tests.fixtures.platform import Platform, platform

__all__ = ["platform"]
RECIPIENTS = 300
DEADLINE_S = 90


@pytest.fixture
def token(tenant: Tenant) -> str:
    return tenant.token


def worker_env(p: Platform, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCSGATE_")}
    settings = p.context.settings
    names = (
        "rbm_base_url",
        "rbm_credentials",
        "rbm_client_token",
        "maap_base_url",
        "maap_token",
        "maap_callback_secret",
        "smpp_host",
        "smpp_port",
        "smpp_system_id",
        "smpp_password",
    )
    env.update({f"RCSGATE_{n.upper()}": str(getattr(settings, n)) for n in names})
    env.update(
        RCSGATE_DATABASE_URL=database_url,
        RCSGATE_DISPATCH_LEASE_SECONDS="2",
        RCSGATE_DISPATCH_BATCH="100",
        RCSGATE_LOG_LEVEL="WARNING",
    )
    return env


@contextmanager
def worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "rcsgate", "worker"], env=env, stdout=out, stderr=out
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=20)


async def until(check: object, what: str, log: Path) -> None:
    """Poll another process's progress (no timing is measured here)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while not await check():  # type: ignore[operator]
        assert loop.time() < deadline, f"{what} not reached:\n{log.read_text()[-3000:]}"
        await asyncio.sleep(0.02)


async def test_a_killed_worker_loses_and_doubles_nothing(
    platform: Platform, sender: Sender, database_url: str, tmp_path: Path
) -> None:
    # Numbers with RCS only, so every message goes to the RBM simulator.
    numbers = [n for i in range(RECIPIENTS * 2) if behaviour_of(n := f"4670100{i:04d}").rcs]
    numbers = numbers[:RECIPIENTS]
    for start in range(0, RECIPIENTS, 200):  # the test app takes bodies of 4 KiB at most
        chunk = numbers[start : start + 200]
        body = {
            "brand": sender.brand,
            "agent": sender.agent,
            "content": "Rea!",
            "recipients": chunk,
        }
        assert (await platform.api.post("/v3/bundles", json=body)).status_code == 201
    submits = platform.simulator.rbm.submits
    env, log = worker_env(platform, database_url), tmp_path / "worker.log"

    async def some_submitted() -> bool:
        return len(submits) >= 80

    with worker(env, log) as first:
        await until(some_submitted, "first submits", log)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert len(submits) < RECIPIENTS, "the first worker finished before it was killed"

    async def all_final() -> bool:
        async with platform.context.sessionmaker() as session:
            open_ = await session.scalar(
                select(func.count()).select_from(Message).where(Message.status.not_in(FINAL))
            )
        return open_ == 0

    with worker(env, log):
        await until(all_final, "every message final", log)

    async with platform.context.sessionmaker() as session:
        ids = set((await session.scalars(select(Message.id))).all())
        dead = (await session.scalars(select(Job).where(Job.state == "dead"))).all()
    assert set(submits) == ids  # every message submitted at least once...
    assert set(platform.simulator.rbm.messages) == ids  # ...and each is one operator message
    assert dead == []
