"""rcsgate on PostgreSQL, ready to send: a bench account and key, a brand and a launched agent.

Setup, never measured: the account and key come from the CLI (provision.py); the brand and
agent through the API (POST /v3/brands, POST /v3/brands/bench/agents). Launching through the
API only reaches `Submitted` (the operators answer later, through the dispatch pipeline), so
the agent is marked `Launched` directly in the database, as an operator's answer would.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.core import BenchError
from bench.database import Database, connect, run
from bench.provision import SERVER_ENV, Credentials, provision_account, rcsgate_tls
from bench.servers import Server, Tls, free_port, rcsgate_command, running

BRAND = "bench"
AGENT = "bot"
# High enough that the limiter is consulted on every request but never refuses one.
RATE_LIMIT = 1_000_000
CLIENT_TIMEOUT = 300.0  # a 100,000-recipient bundle is one request


@dataclass(frozen=True)
class SenderIds:
    account_id: str
    brand_id: str
    agent_id: str


@dataclass(frozen=True)
class Deployment:
    server: Server
    tls: Tls
    database: Database
    credentials: Credentials
    sender: SenderIds

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credentials.token}"}

    def client(self) -> httpx.Client:
        """Keep-alive, TLS verified against rcsgate's own certificate, authenticated."""
        return _client(self.server, self.tls, self.auth)

    def expect(self, response: httpx.Response, status: int) -> httpx.Response:
        return expect(self.server, response, status)


@contextlib.contextmanager
def rcsgate_on(
    database: Database, data_dir: Path, settings: Mapping[str, str] | None = None
) -> Iterator[Deployment]:
    """Migrates `database`, provisions, serves (with RCSGATE_* `settings`, if any), and sets
    up the sender; stops on leaving."""
    env = {**SERVER_ENV, **database.rcsgate_env(), **(settings or {})}
    credentials = provision_account(data_dir, rate_limit=RATE_LIMIT, env=env)
    tls = rcsgate_tls(data_dir)
    port = free_port()
    command = rcsgate_command(data_dir, port)
    with running("rcsgate", command, port=port, tls=tls, log_dir=data_dir, env=env) as server:
        with _client(server, tls, {"Authorization": f"Bearer {credentials.token}"}) as client:
            _create_sender(server, client)
        sender = run(_launch(database, credentials.account_id))
        yield Deployment(server, tls, database, credentials, sender)


def expect(server: Server, response: httpx.Response, status: int) -> httpx.Response:
    """`response` if it has `status`; otherwise the run fails with the server's log."""
    if response.status_code != status:
        raise server.fail(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}, not {status}: {response.text[:500]}"
        )
    return response


def _client(server: Server, tls: Tls, headers: dict[str, str]) -> httpx.Client:
    return httpx.Client(
        base_url=server.base_url,
        headers=headers,
        verify=tls.client_context(),
        timeout=CLIENT_TIMEOUT,
    )


def _create_sender(server: Server, client: httpx.Client) -> None:
    brand: dict[str, Any] = {"displayName": "Bench", "brandName": BRAND}
    agent: dict[str, Any] = {"displayName": "Bot", "agentName": AGENT}
    expect(server, client.post("/v3/brands", json=brand), 201)
    expect(server, client.post(f"/v3/brands/{BRAND}/agents", json=agent), 201)


async def _launch(database: Database, account_id: str) -> SenderIds:
    connection = await connect(database)
    try:
        row = await connection.fetchrow(
            "UPDATE agents SET status = 'Launched' "
            "WHERE account_id = $1 AND name_key = $2 AND deleted_at IS NULL "
            "RETURNING id, brand_id",
            account_id,
            AGENT,
        )
    finally:
        await connection.close()
    if row is None:
        raise BenchError(f"agent {AGENT!r} of account {account_id} is not in the database")
    return SenderIds(account_id=account_id, brand_id=row["brand_id"], agent_id=row["id"])
