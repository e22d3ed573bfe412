"""bench/cpu.py: PostgreSQL's CPU is counted for the bench's database alone.

A per-message figure that took every postgres process on the server would grow with whatever
else the machine's PostgreSQL is doing; these check that only the backends serving the named
database count, and not the harness's own connection.
"""

from __future__ import annotations

import asyncpg
import pytest
from bench.cpu import HARNESS_APPLICATION, POSTGRES, PostgresCpu, process_cpu
from sqlalchemy.engine import make_url

from tests.fixtures.database import backend

pytestmark = pytest.mark.skipif(backend() != "postgres", reason="PostgreSQL's processes only")
BURN = "SELECT count(*) FROM generate_series(1, 2000000)"


def _dsn(database_url: str, database: str | None = None) -> str:
    url = make_url(database_url).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


async def _connect(dsn: str, application: str = "") -> asyncpg.Connection:
    return await asyncpg.connect(dsn, server_settings={"application_name": application})


async def _burn(connection: asyncpg.Connection) -> float:
    """Runs a CPU-bound query: the CPU seconds its backend spent on it."""
    pid = int(await connection.fetchval("SELECT pg_backend_pid()"))
    before = process_cpu(pid)
    await connection.fetchval(BURN)
    return process_cpu(pid) - before


async def test_only_backends_of_the_database_count(database_url: str) -> None:
    name = make_url(database_url).database
    assert name is not None
    ours = await _connect(_dsn(database_url))
    other = await _connect(_dsn(database_url, "postgres"))
    harness = await _connect(_dsn(database_url), HARNESS_APPLICATION)
    try:
        postgres = PostgresCpu(name)
        await postgres.sample(harness)
        counted = await _burn(ours)
        elsewhere = await _burn(other)
        own = await _burn(harness)
        seconds = (await postgres.sample(harness))[POSTGRES]
    finally:
        for connection in (ours, other, harness):
            await connection.close()
    assert min(counted, elsewhere, own) > 0.05
    # The other database's and the harness's queries are missing; idle backends add ~0.
    assert counted <= seconds < counted + min(elsewhere, own) / 2


async def test_a_backend_born_after_the_first_sample_counts_whole(database_url: str) -> None:
    name = make_url(database_url).database
    assert name is not None
    harness = await _connect(_dsn(database_url), HARNESS_APPLICATION)
    try:
        postgres = PostgresCpu(name)
        await postgres.sample(harness)
        newcomer = await _connect(_dsn(database_url))
        try:
            burned = await _burn(newcomer)
            seconds = (await postgres.sample(harness))[POSTGRES]
        finally:
            await newcomer.close()
    finally:
        await harness.close()
    # Its start-up counts too (it was born in the window), so at least the query's CPU.
    assert burned > 0.05
    assert seconds >= burned
