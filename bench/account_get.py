"""GET /v3/account through TLS, API-key auth and the per-account rate limit, on PostgreSQL with
rate limits in Redis, against a bare FastAPI endpoint answering rcsgate's AccountRead
(bare_app.py), served the same way (DESIGN.md section 5: rcsgate >= 60% of bare).

Both servers are up together and wrk loads them alternately (versus.py), with the CPU per
request of each server process (and of PostgreSQL's backends for rcsgate's database) beside
the rates.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.core import SERVER_WORKERS, WRK_THREADS, BenchResult, Options
from bench.cpu import PostgresCpu, sampling
from bench.database import Database, fresh_database
from bench.deployment import RATE_LIMIT, Deployment, expect, rcsgate_on
from bench.registry import benchmark
from bench.servers import Server, Tls, free_port, running, uvicorn_command
from bench.versus import Contender, Measured, alternate, comparison, details

PATH = "/v3/account"
TARGET_RATIO = 0.60


@benchmark("account_get", "GET /v3/account (TLS + API key + rate limit) vs bare FastAPI")
def account_get(options: Options) -> BenchResult:
    with (
        tempfile.TemporaryDirectory(prefix="rcsgate-bench-") as tmp,
        fresh_database("account_get") as database,
    ):
        rcsgate, bare = _measure(database, Path(tmp), options)
    return _result(rcsgate, bare, options, database)


def _measure(database: Database, data_dir: Path, options: Options) -> tuple[Measured, Measured]:
    with rcsgate_on(database, data_dir) as deployment:
        _check_rcsgate_answers(deployment)
        with (
            _bare_server(data_dir, deployment.tls) as bare,
            sampling(PostgresCpu(database.name), database.dsn) as postgres,
        ):
            rcsgate = Contender(deployment.server, PATH, deployment.auth, postgres)
            return alternate(rcsgate, Contender(bare, PATH, {}), options)


def _check_rcsgate_answers(deployment: Deployment) -> None:
    """Before measuring: the key works, the rate limit ran, and it is the bench account."""
    with deployment.client() as client:
        response = deployment.expect(client.get(PATH), 200)
    if response.headers.get("ratelimit-limit") != str(RATE_LIMIT):
        raise deployment.server.fail(
            f"GET {PATH} has no RateLimit-Limit: {RATE_LIMIT} header: {response.headers}"
        )
    if response.json().get("id") != deployment.credentials.account_id:
        raise deployment.server.fail(f"GET {PATH} answered another account: {response.text}")


@contextlib.contextmanager
def _bare_server(data_dir: Path, tls: Tls) -> Iterator[Server]:
    """bare_app.py over rcsgate's own certificate."""
    port = free_port()
    command = uvicorn_command("bench.bare_app:app", port, tls)
    with running("bare", command, port=port, tls=tls, log_dir=data_dir) as server:
        response = httpx.get(server.base_url + PATH, verify=tls.client_context())
        if "rateLimit" not in expect(server, response, 200).json():
            raise server.fail(f"GET {PATH} answered no account: {response.text[:500]}")
        yield server


def _result(rcsgate: Measured, bare: Measured, options: Options, database: Database) -> BenchResult:
    return BenchResult(
        name="account_get",
        title=f"GET {PATH}, TLS + API key + rate limit vs a bare FastAPI AccountRead endpoint",
        figure_name="rcsgate",
        baseline_name="bare FastAPI",
        setup=f"{options.describe()}, alternating; {database.describe()}",
        measures=tuple(comparison(rcsgate, bare, target_ratio=TARGET_RATIO, postgres=True)),
        details={
            **details(rcsgate, bare),
            "database": database.name,
            "duration_s": options.duration,
            "warmup_s": options.warmup,
            "connections": options.connections,
            "server_workers": SERVER_WORKERS,
            "wrk_threads": WRK_THREADS,
        },
    )
