"""A fresh PostgreSQL database for one benchmark run, dropped afterwards, and a few queries.

The harness is synchronous (servers and wrk are subprocesses); the few database steps run
asyncpg in a short-lived event loop each, through `run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg

from bench.core import BenchError
from bench.cpu import HARNESS_APPLICATION

T = TypeVar("T")

# The server, not a database on it: `/<name>` is appended. Trust auth on this machine.
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
# Empty: rcsgate keeps its rate-limit windows in process (one server process only).
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
NAME_PREFIX = "rcsgate_bench_"


@dataclass(frozen=True)
class Database:
    name: str

    @property
    def dsn(self) -> str:
        """For asyncpg."""
        return f"{POSTGRES_URL}/{self.name}"

    @property
    def sqlalchemy_url(self) -> str:
        """For rcsgate (RCSGATE_DATABASE_URL)."""
        return self.dsn.replace("postgresql://", "postgresql+asyncpg://", 1)

    def rcsgate_env(self) -> dict[str, str]:
        """rcsgate deployed as in production: this database, rate limits in Redis."""
        env = {"RCSGATE_DATABASE_URL": self.sqlalchemy_url}
        return {**env, "RCSGATE_REDIS_URL": REDIS_URL} if REDIS_URL else env

    def describe(self) -> str:
        limits = "Redis" if REDIS_URL else "in-process"
        return f"PostgreSQL database {self.name} (fresh), {limits} rate limits"


@contextlib.contextmanager
def fresh_database(purpose: str) -> Iterator[Database]:
    """An empty database named rcsgate_bench_<purpose>_<random>, dropped on leaving."""
    database = Database(f"{NAME_PREFIX}{purpose}_{secrets.token_hex(4)}")
    run(_admin(f'CREATE DATABASE "{database.name}"'))
    try:
        yield database
    finally:
        # FORCE: a server that was killed may still hold connections for a moment.
        run(_admin(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)'))


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


async def connect(database: Database) -> asyncpg.Connection:
    """The harness's own connection, named so its backend is not counted as rcsgate's."""
    try:
        return await asyncpg.connect(
            database.dsn, server_settings={"application_name": HARNESS_APPLICATION}
        )
    except (OSError, asyncpg.PostgresError) as error:
        raise BenchError(f"cannot connect to {database.dsn}: {error}") from error


async def fetchval(database: Database, query: str, *args: Any) -> Any:
    connection = await connect(database)
    try:
        return await connection.fetchval(query, *args)
    finally:
        await connection.close()


async def _admin(statement: str) -> None:
    try:
        connection = await asyncpg.connect(f"{POSTGRES_URL}/postgres")
    except (OSError, asyncpg.PostgresError) as error:
        raise BenchError(f"cannot reach PostgreSQL at {POSTGRES_URL}: {error}") from error
    try:
        await connection.execute(statement)
    finally:
        await connection.close()
