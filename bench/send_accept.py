"""POST /v3/conversations on PostgreSQL: TLS, API key, rate limit (Redis), validation and a
durable commit per send, against a bare FastAPI endpoint that parses the same body with
rcsgate's own ConversationCreate and answers a MessageRead (bare_app.py), served the same way
(DESIGN.md section 5: >= 1,500 req/s and >= 50% of bare).

Both servers are up together and get the same requests from the same wrk script
(wrk_send.lua: a send to a random 4670xxxxxxx number each), alternating (versus.py), with the
CPU per request of each server process (and of PostgreSQL's backends for rcsgate's database)
beside the rates. Afterwards the messages in the database are counted: every send wrk saw
acknowledged must be there (at most the requests cut off at the end of each wrk run may be
there too, unacknowledged).

What is measured is the accept alone, as in DESIGN.md's figure: rcsgate runs with
RCSGATE_DISPATCH_WORKERS=0, so its relay does not send the accepted messages on in the same
process meanwhile (bench pipeline measures that). Bench setup (deployment.py, not measured): a
fresh database, an account with a rate limit it never reaches, a brand and an agent created
through the API and marked Launched in the database. "p99 < 50 ms at 1,000 req/s offered"
needs an open-loop load and is not measured here; the latencies shown are closed-loop, under
full load, for context.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.core import SERVER_WORKERS, WRK_THREADS, BenchError, BenchResult, Measure, Options
from bench.cpu import PostgresCpu, sampling
from bench.database import Database, fetchval, fresh_database, run
from bench.deployment import AGENT, BRAND, Deployment, expect, rcsgate_on
from bench.registry import benchmark
from bench.servers import Server, Tls, free_port, running, uvicorn_command
from bench.versus import Contender, Measured, alternate, comparison, details

PATH = "/v3/conversations"
TARGET_RATIO = 0.50
TARGET_REQUESTS_PER_SECOND = 1_500.0
SCRIPT = Path(__file__).with_name("wrk_send.lua")
# The shape wrk_send.lua sends (its recipient varies).
SEND = {"brand": BRAND, "agent": AGENT, "recipient": "46700123456", "content": "Hej!"}
ACCEPT_ONLY = {"RCSGATE_DISPATCH_WORKERS": "0"}


@dataclass(frozen=True)
class Outcome:
    rcsgate: Measured
    bare: Measured
    stored: int  # messages in the database once rcsgate stopped
    statuses: str


@benchmark(
    "send_accept",
    "POST /v3/conversations on PostgreSQL (TLS + key + rate limit + commit) vs bare FastAPI",
)
def send_accept(options: Options) -> BenchResult:
    with (
        tempfile.TemporaryDirectory(prefix="rcsgate-bench-") as tmp,
        fresh_database("send_accept") as database,
    ):
        outcome = _measure(database, Path(tmp), options)
    checked = 1  # the one _check_rcsgate_sends made
    _check_nothing_lost(outcome.rcsgate, checked, outcome.stored, options)
    return _result(outcome, options, database)


def _measure(database: Database, data_dir: Path, options: Options) -> Outcome:
    with rcsgate_on(database, data_dir, ACCEPT_ONLY) as deployment:
        _check_rcsgate_sends(deployment)
        with (
            _bare_server(data_dir, deployment.tls) as bare,
            sampling(PostgresCpu(database.name), database.dsn) as postgres,
        ):
            rcsgate = Contender(deployment.server, PATH, deployment.auth, postgres)
            measured = alternate(rcsgate, Contender(bare, PATH, {}), options, SCRIPT)
    # After the server stopped: every request it had begun has finished.
    stored = int(run(fetchval(database, "SELECT count(*) FROM messages")))
    statuses = str(
        run(
            fetchval(
                database,
                "SELECT string_agg(status || ' ' || n, ', ') FROM "
                "(SELECT status, count(*) AS n FROM messages GROUP BY status) AS counted",
            )
        )
    )
    return Outcome(*measured, stored, statuses)


def _check_rcsgate_sends(deployment: Deployment) -> None:
    """Before measuring: a send is accepted as a new conversation's message."""
    with deployment.client() as client:
        message = deployment.expect(client.post(PATH, json=SEND), 201).json()
    if not message.get("id") or not message.get("conversationId"):
        raise deployment.server.fail(f"POST {PATH} answered no message: {message}")


@contextlib.contextmanager
def _bare_server(data_dir: Path, tls: Tls) -> Iterator[Server]:
    """bare_app.py over rcsgate's own certificate, checked to answer as rcsgate does."""
    port = free_port()
    command = uvicorn_command("bench.bare_app:app", port, tls)
    with running("bare", command, port=port, tls=tls, log_dir=data_dir) as server:
        response = httpx.post(server.base_url + PATH, json=SEND, verify=tls.client_context())
        answer = expect(server, response, 201).json()
        if answer.get("recipient") != SEND["recipient"] or answer.get("status") != "Queued":
            raise server.fail(f"POST {PATH} answered no message: {response.text[:500]}")
        yield server


def _check_nothing_lost(load: Measured, checked: int, stored: int, options: Options) -> None:
    """Every acknowledged send is stored; only requests cut off when wrk stopped may add."""
    acknowledged = load.acknowledged + checked
    cut_off = load.runs * options.connections
    if stored < acknowledged:
        raise BenchError(
            f"{acknowledged} sends were acknowledged with 2xx but only {stored} messages "
            "are in the database: acknowledged sends were lost"
        )
    if stored > acknowledged + cut_off:
        raise BenchError(
            f"{stored} messages are in the database for {acknowledged} acknowledged sends; "
            f"more than the {cut_off} wrk may have cut off"
        )


def _result(outcome: Outcome, options: Options, database: Database) -> BenchResult:
    rcsgate, bare = outcome.rcsgate, outcome.bare
    measures = comparison(rcsgate, bare, target_ratio=TARGET_RATIO, postgres=True)
    floor = Measure.absolute(
        "throughput vs DESIGN.md floor",
        "req/s",
        rcsgate.requests_per_second,
        TARGET_REQUESTS_PER_SECOND,
        higher_is_better=True,
    )
    return BenchResult(
        name="send_accept",
        title=f"POST {PATH} (PostgreSQL, durable, accept only) vs bare FastAPI, same body class",
        figure_name="rcsgate",
        baseline_name="bare FastAPI",
        setup=f"{options.describe()}, alternating; {database.describe()}",
        measures=(measures[0], floor, *measures[1:]),
        details={
            **details(rcsgate, bare),
            "rcsgate_acknowledged_incl_warmup": rcsgate.acknowledged,
            "messages_stored": outcome.stored,
            "messages_by_status": outcome.statuses,
            "rcsgate_settings": " ".join(f"{k}={v}" for k, v in ACCEPT_ONLY.items()),
            "database": database.name,
            "duration_s": options.duration,
            "warmup_s": options.warmup,
            "connections": options.connections,
            "server_workers": SERVER_WORKERS,
            "wrk_threads": WRK_THREADS,
        },
    )
