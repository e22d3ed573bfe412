"""The whole pipeline on PostgreSQL: accept -> dispatch -> RBM submit over HTTP to the operator
simulator -> the phone's DELIVERED (and READ) pushed back to rcsgate's callback endpoint
(DESIGN.md section 5: >= 1,000 msg/s sustained for 60 s; p99 accept -> Sent <= 250 ms at
500 msg/s offered; rcsgate's processes + PostgreSQL <= 1.5 ms of CPU per message that reached
Read, the simulator's counted apart).

rcsgate runs as a user runs it, from the CLI, over TLS with its self-signed certificate, one
uvicorn worker, rate limits and the capability cache in Redis, and rcsgate's default settings
(one relay loop of 200-job batches) unless RCSGATE_* variables in the bench's environment say
otherwise (every rcsgate process inherits them; the setup line names them).
BENCH_PIPELINE_MODE picks the layout:
- `split` (default, the better figure on 2 cores): `rcsgate simulator` + `rcsgate serve
  --no-simulator` (API and callbacks only, RCSGATE_DISPATCH_WORKERS=0) + `rcsgate worker`.
  `rcsgate simulator` has no delay-scale option: its phones deliver after 0.2 s and read after
  0.5 s, which delays Delivered but not the rate at which messages reach it;
- `inprocess`: `rcsgate serve` alone, with its in-process simulator
  (RCSGATE_SIMULATOR_DELAY_SCALE=0.01: phones answer in milliseconds) and in-process dispatch;
- `serve`: `rcsgate simulator` + `rcsgate serve --no-simulator` with its dispatch inside (the
  layout of bench pipeline_cost).

Phases, each on a fresh database and freshly started processes (no backlog carries over):
1. baseline: the simulator alone (`rcsgate simulator`, its pushes going to a bare sink that
   answers 200, callback_sink.py) driven by a plain loop of the connector's HTTP client
   (kit/http.py) with the connector's calls in flight, submitting exactly as RbmConnector.send
   does: RBM submits per second, the ceiling of that HTTP leg here.
2. sustained: bundles of 100 every 100 ms (1,000 msg/s offered), open loop, for warm-up +
   duration. Figure: messages that reached Delivered (status Delivered or Read) per second over
   the measured window, from `messages` at the window's start and end; the Queued backlog is
   sampled every second and its growth (least-squares slope) says whether it is sustained.
3. latency: bundles of 50 every 100 ms (500 msg/s offered). After the load stops, the window's
   messages may drain (up to 30 s); then accept -> Sent per message is the time of its first
   step past Queued (the Sent MessageEvent.at; Delivered/Read if the journey has no Sent step)
   minus Message.created_at, for every message created in the window. rcsgate dates Sent when
   the submit began (dispatch/pipeline.py), so this is accept -> handed to the operator. A
   message still Queued after the drain counts with its age then (a lower bound).
4. the same at 50 msg/s (bundles of 5), for at most 30 s: the latency when the load is one the
   pipeline keeps up with (context, no target).
5. single: POST /v3/conversations, one recipient each, closed loop with wrk (--connections,
   wrk_send.lua: random 4670xxxxxxx numbers, of which about 10% have no RCS and end Failed).

Recipients of the bundles are fresh numbers (the capability cache never has them, as in a
campaign) that the simulator gives RCS, so each should end Delivered, then Read. CPU seconds
per process (serve, worker, simulator, PostgreSQL's backends for the phase's database and
apart its shared processes, Redis, the load generator, and `other`: the rest of the machine's
busy time; bench/cpu.py says what counts) are read from /proc at the window's edges (and
PostgreSQL's every second in between) and saved as `*_cpu_*_pct` details, in percent of one
core, and as `*_ms_cpu_per_read_*`: ms per message that reached Read in the window, the
figure that holds however busy the machine is. While a backlog grows, or when the window is
short beside the pipeline's lag (Read comes seconds after the accept), it also holds work for
messages read after the window: an upper bound. bench pipeline_cost gives the closed figure
(a fixed batch followed to its last Read). The DESIGN target's last leg, "signed webhook
received", is not measured: rcsgate does not send delivery-report webhooks yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.core import PROJECT_ROOT, BenchError, BenchResult, Measure, Options, die_with_parent
from bench.cpu import (
    POSTGRES,
    PostgresCpu,
    cpu_of,
    machine_busy,
    named_cpu,
    own_cpu,
    per_unit_ms,
)
from bench.database import Database, connect, fresh_database, run
from bench.provision import SERVER_ENV, provision_account, rcsgate_tls
from bench.registry import benchmark
from bench.servers import (
    Server,
    Tls,
    free_port,
    rcsgate_command,
    running,
    stop,
    uvicorn_command,
    venv_script,
)
from bench.wrk import WrkRun, run_wrk
from rcsgate.config import Settings
from rcsgate.connectors.rbm import TokenSource
from rcsgate.kit.http import http_client
from rcsgate.kit.ids import new_id
from rcsgate.kit.tls import ensure_self_signed
from rcsgate.simulator.phones import TEST_NUMBERS, behaviour_of

MODE_ENV = "BENCH_PIPELINE_MODE"
MODES = ("split", "inprocess", "serve")
# The processes whose CPU is rcsgate's (the per-message figure adds PostgreSQL's to theirs).
RCSGATE_ROLES = ("serve", "worker")
DELAY_SCALE = "0.01"
BRAND, AGENT = "bench", "bot"
RATE_LIMIT = 1_000_000  # consulted on every request, never reached
CONTENT = "Rea!"
TICK = 0.1  # seconds between bundles
SUSTAINED_RATE = 1_000  # msg/s offered
LATENCY_RATE = 500
# Context: accept -> Sent when the offered load is one the pipeline keeps up with.
LOW_RATE = 50
LOW_DURATION = 30.0
TARGET_RATE = 1_000.0
TARGET_P99_MS = 250.0
BACKLOG_GROWTH_LIMIT = 0.01  # of the offered rate: more than that, per second, is not sustained
# The connector's calls in flight (RCSGATE_OPERATOR_CONCURRENCY's default).
BASELINE_CONCURRENCY = Settings.model_fields["operator_concurrency"].get_default()
BASELINE_FAILURES_TOLERATED = 0.02
CLIENT_CONNECTIONS = 32
CLIENT_TIMEOUT = 120.0
SAMPLE_EVERY = 1.0
DRAIN_TIMEOUT = 30.0
PROCESS_READY_TIMEOUT = 30.0
FIRST_NUMBER = 46_701_000_000  # 4670xxxxxxx, clear of the documented test numbers
SINGLE_SCRIPT = Path(__file__).with_name("wrk_send.lua")
TARGET_CPU_MS = 1.5  # rcsgate's processes + PostgreSQL, per message that reached Read


RCSGATE_AND_POSTGRES = "rcsgate + PostgreSQL"
COST_ROLES = (*RCSGATE_ROLES, POSTGRES)
COST_LABELS = {POSTGRES: "PostgreSQL (this database)", "simulator": "simulator (apart)"}


def _key(role: str) -> str:
    return role.replace(" + ", "_and_").replace(" ", "_").lower()


# -- the deployment ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rig:
    """A running rcsgate (and simulator) on a fresh database, with a launched sender."""

    mode: str
    server: Server
    tls: Tls
    database: Database
    token: str
    account_id: str
    pids: dict[str, int]  # our processes by role, for the CPU split
    postgres: PostgresCpu  # the backends serving `database`
    logs: tuple[Path, ...]
    processes: tuple[subprocess.Popen[bytes], ...]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def check_alive(self) -> None:
        """A process that died mid-phase would leave a figure that means nothing."""
        for process in self.processes:
            if process.poll() is not None:
                raise self.fail(f"process {process.pid} exited mid-run ({process.returncode})")

    def fail(self, message: str) -> BenchError:
        tails = "\n".join(f"--- {log} (tail) ---\n{_tail(log)}" for log in self.logs)
        return BenchError(f"{message}\n{tails}")


@dataclass(frozen=True)
class Background:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise BenchError(
                f"{self.name} exited with code {self.process.returncode}\n"
                f"--- {self.log_path} (tail) ---\n{_tail(self.log_path)}"
            )


@dataclass(frozen=True)
class SimulatorProcess:
    background: Background
    env: dict[str, str]  # RCSGATE_* settings that point connectors at it

    @property
    def rbm_base_url(self) -> str:
        return self.env["RCSGATE_RBM_BASE_URL"]


@contextlib.contextmanager
def rig(mode: str, data_dir: Path) -> Iterator[Rig]:
    data_dir.mkdir(parents=True, exist_ok=True)
    with fresh_database("pipeline") as database, contextlib.ExitStack() as stack:
        env = {**SERVER_ENV, **database.rcsgate_env()}
        credentials = provision_account(data_dir, rate_limit=RATE_LIMIT, env=env)
        tls = rcsgate_tls(data_dir)
        port = free_port()
        command = rcsgate_command(data_dir, port)
        pids: dict[str, int] = {}
        logs = [data_dir / "rcsgate.log"]
        simulator: SimulatorProcess | None = None
        if mode == "inprocess":
            server_env = {**env, "RCSGATE_SIMULATOR_DELAY_SCALE": DELAY_SCALE}
        else:
            callback_base = f"https://127.0.0.1:{port}"
            simulator = stack.enter_context(simulator_process(data_dir, callback_base))
            pids["simulator"] = simulator.background.process.pid
            logs.append(simulator.background.log_path)
            command = [*command, "--no-simulator"]
            server_env = {**env, **simulator.env}
            if mode == "split":
                server_env["RCSGATE_DISPATCH_WORKERS"] = "0"
        server = stack.enter_context(
            running("rcsgate", command, port=port, tls=tls, log_dir=data_dir, env=server_env)
        )
        pids["serve"] = server.process.pid
        processes = [server.process]
        if simulator is not None:
            processes.append(simulator.background.process)
        if simulator is not None and mode == "split":
            worker = stack.enter_context(
                background(
                    "worker",
                    [venv_script("rcsgate"), "worker", f"--data-dir={data_dir}"],
                    data_dir,
                    {**env, **simulator.env},
                )
            )
            pids["worker"] = worker.process.pid
            logs.append(worker.log_path)
            processes.append(worker.process)
        _create_sender(server, tls, credentials.token)
        run(_launch(database, credentials.account_id))
        _wait_until_dispatching(server, tls, credentials.token)
        yield Rig(
            mode,
            server,
            tls,
            database,
            credentials.token,
            credentials.account_id,
            pids,
            PostgresCpu(database.name),
            tuple(logs),
            tuple(processes),
        )


@contextlib.contextmanager
def background(
    name: str, command: Sequence[str], log_dir: Path, env: Mapping[str, str]
) -> Iterator[Background]:
    """A process with no HTTP of its own to poll; stopped (with its group) on leaving."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(command),
            cwd=PROJECT_ROOT,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    try:
        yield Background(name, process, log_path)
    finally:
        stop(process)


@contextlib.contextmanager
def simulator_process(data_dir: Path, callback_base: str) -> Iterator[SimulatorProcess]:
    """`rcsgate simulator` on free ports; ready once it has written its operators.env."""
    env_file = data_dir / "simulator" / "operators.env"
    env_file.unlink(missing_ok=True)
    command = [
        venv_script("rcsgate"),
        "simulator",
        f"--http-port={free_port()}",
        f"--smpp-port={free_port()}",
        f"--callback-base={callback_base}",
        f"--data-dir={data_dir}",
    ]
    with background("simulator", command, data_dir, SERVER_ENV) as process:
        deadline = time.monotonic() + PROCESS_READY_TIMEOUT
        settings: dict[str, str] = {}
        while "RCSGATE_SMPP_PASSWORD" not in settings:
            process.check_alive()
            if time.monotonic() > deadline:
                raise BenchError(f"the simulator wrote no {env_file} in time")
            time.sleep(0.1)
            if env_file.exists():
                settings = _env_file(env_file.read_text())
        yield SimulatorProcess(process, settings)


def _env_file(text: str) -> dict[str, str]:
    pairs = (line.partition("=") for line in text.splitlines())
    return {name: value for name, equals, value in pairs if equals}


def _create_sender(server: Server, tls: Tls, token: str) -> None:
    with httpx.Client(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {token}"},
        verify=tls.client_context(),
    ) as client:
        brand = {"displayName": "Bench", "brandName": BRAND}
        agent = {"displayName": "Bot", "agentName": AGENT}
        for path, body in (("/v3/brands", brand), (f"/v3/brands/{BRAND}/agents", agent)):
            response = client.post(path, json=body)
            if response.status_code != 201:
                raise server.fail(f"POST {path} answered {response.status_code}: {response.text}")


def _wait_until_dispatching(server: Server, tls: Tls, token: str) -> None:
    """Phases start once a first message has left Queued: the worker process is up, has its
    operator token and connections (otherwise its start-up is counted as queueing)."""
    body = {"brand": BRAND, "agent": AGENT, "recipient": next(rcs_numbers()), "content": CONTENT}
    with httpx.Client(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {token}"},
        verify=tls.client_context(),
    ) as client:
        sent = client.post("/v3/conversations", json=body)
        if sent.status_code != 201:
            raise server.fail(f"the first message was refused: {sent.status_code} {sent.text}")
        deadline = time.monotonic() + PROCESS_READY_TIMEOUT
        while client.get(f"/v3/messages/{sent.json()['id']}").json()["status"] == "Queued":
            if time.monotonic() > deadline:
                raise server.fail("no message left Queued: is the worker running?")
            time.sleep(0.1)


async def _launch(database: Database, account_id: str) -> None:
    """Launched at RBM, as the operator's answer to a launch request would leave it."""
    connection = await connect(database)
    try:
        async with connection.transaction():
            agent_id = await connection.fetchval(
                "UPDATE agents SET status = 'Launched' "
                "WHERE account_id = $1 AND name_key = $2 AND deleted_at IS NULL RETURNING id",
                account_id,
                AGENT,
            )
            if agent_id is None:
                raise BenchError(f"agent {AGENT!r} of account {account_id} is not in the database")
            await connection.execute(
                "INSERT INTO agent_operators (agent_id, operator, status, modified_at) "
                "VALUES ($1, 'rbm', 'Launched', now()) "
                "ON CONFLICT (agent_id, operator) DO UPDATE SET status = 'Launched'",
                agent_id,
            )
    finally:
        await connection.close()


# -- measuring: message counts and CPU at a moment ------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    monotonic: float
    wall: datetime
    counts: dict[str, int]
    cpu: dict[str, float]  # CPU seconds so far, by role; "machine" is all busy time

    def count(self, *statuses: str) -> int:
        return sum(self.counts.get(status, 0) for status in statuses)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def delivered(self) -> int:
        return self.count("Delivered", "Read")

    @property
    def sent(self) -> int:
        return self.count("Sent", "Delivered", "Read")

    @property
    def read(self) -> int:
        return self.count("Read")


async def snapshot(connection: asyncpg.Connection, rig: Rig) -> Snapshot:
    rows = await connection.fetch(
        "SELECT status, count(*) AS n FROM messages "
        "WHERE account_id = $1 AND direction = 'Outbound' GROUP BY status",
        rig.account_id,
    )
    postgres = await rig.postgres.sample(connection)
    return Snapshot(
        time.monotonic(),
        datetime.now(UTC),
        {r["status"]: r["n"] for r in rows},
        cpu_now(rig, postgres),
    )


def cpu_now(rig: Rig, postgres: Mapping[str, float]) -> dict[str, float]:
    """CPU seconds so far by role: ours by pid, PostgreSQL's for the rig's database (and its
    shared processes apart), Redis (all of it: it serves every database), the harness."""
    seconds = cpu_of(rig.pids) | dict(postgres)
    seconds["redis"] = named_cpu("redis-server")
    seconds["load generator"] = own_cpu()
    seconds["machine"] = machine_busy()
    return seconds


def cpu_split(start: Snapshot, end: Snapshot) -> dict[str, float]:
    """Percent of one core per role over the window; `other` is the machine minus the rest."""
    seconds = end.monotonic - start.monotonic
    used = {role: end.cpu[role] - start.cpu.get(role, 0.0) for role in end.cpu}
    machine = used.pop("machine")
    used["other"] = machine - sum(used.values())
    shares = {role: round(100 * value / seconds, 1) for role, value in used.items()}
    shares["machine"] = round(100 * machine / seconds, 1)
    return shares


# -- the load ---------------------------------------------------------------------------------


def rcs_numbers(first: int = FIRST_NUMBER) -> Iterator[str]:
    """Distinct numbers the simulator treats as RCS phones that deliver and read."""
    number = first
    while True:
        text = str(number)
        number += 1
        if text not in TEST_NUMBERS and behaviour_of(text).rcs:
            yield text


@dataclass
class Offer:
    """What the open-loop client sent and what rcsgate answered."""

    posted: int = 0  # messages in the requests made
    accepted: int = 0  # messages in requests answered 201
    post_seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    most_late: float = 0.0  # how far behind its schedule the client fell, at worst


async def offer_bundles(
    client: httpx.AsyncClient, rate: int, seconds: float, numbers: Iterator[str], offer: Offer
) -> None:
    """One bundle of rate * TICK recipients every TICK seconds, on schedule: a slow answer does
    not delay the next bundle (open loop)."""
    size = round(rate * TICK)
    loop = asyncio.get_running_loop()
    start = loop.time()
    pending: set[asyncio.Task[None]] = set()
    for tick in range(round(seconds / TICK)):
        delay = start + tick * TICK - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            offer.most_late = max(offer.most_late, -delay)
        body = {
            "brand": BRAND,
            "agent": AGENT,
            "recipients": [next(numbers) for _ in range(size)],
            "content": CONTENT,
        }
        task = asyncio.create_task(_post_bundle(client, body, size, offer))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)


async def _post_bundle(
    client: httpx.AsyncClient, body: dict[str, Any], size: int, offer: Offer
) -> None:
    offer.posted += size
    started = time.perf_counter()
    try:
        response = await client.post("/v3/bundles", json=body)
    except httpx.HTTPError as error:
        offer.failures.append(repr(error))
        return
    offer.post_seconds.append(time.perf_counter() - started)
    if response.status_code == 201:
        offer.accepted += size
    else:
        offer.failures.append(f"{response.status_code}: {response.text[:200]}")


async def sample_queued(
    connection: asyncpg.Connection, rig: Rig, samples: list[tuple[float, int]]
) -> None:
    """The Queued backlog once a second until cancelled (an index-only count); PostgreSQL's
    backends are read as often, so one opened mid-window is counted."""
    while True:
        queued = await connection.fetchval(
            "SELECT count(*) FROM messages WHERE account_id = $1 AND status = 'Queued'",
            rig.account_id,
        )
        samples.append((time.monotonic(), int(queued)))
        await rig.postgres.sample(connection)
        await asyncio.sleep(SAMPLE_EVERY)


def slope(samples: Sequence[tuple[float, int]]) -> float:
    """Least-squares growth per second; 0 with fewer than two samples."""
    if len(samples) < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / len(samples)
    mean_n = sum(n for _, n in samples) / len(samples)
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (n - mean_n) for t, n in samples) / spread


@dataclass(frozen=True)
class Window:
    """One measured stretch of one phase."""

    start: Snapshot
    end: Snapshot
    backlog: tuple[tuple[float, int], ...]

    @property
    def seconds(self) -> float:
        return self.end.monotonic - self.start.monotonic

    def rate(self, attribute: str) -> float:
        gained: int = getattr(self.end, attribute) - getattr(self.start, attribute)
        return gained / self.seconds

    @property
    def delivered_per_s(self) -> float:
        return self.rate("delivered")

    @property
    def sent_per_s(self) -> float:
        return self.rate("sent")

    @property
    def accepted_per_s(self) -> float:
        return self.rate("total")

    @property
    def backlog_growth(self) -> float:
        return slope(self.backlog)

    @property
    def reads(self) -> int:
        return self.end.read - self.start.read

    def cpu_per_read_ms(self) -> dict[str, float]:
        """ms of CPU per message that reached Read in the window, by role, and `rcsgate +
        PostgreSQL` (the DESIGN.md figure). While a backlog grows, the window's accepts of
        messages not yet read are in it too: then it is an upper bound."""
        used = per_unit_ms(self.start.cpu, self.end.cpu, self.reads)
        used.pop("machine", None)
        used[RCSGATE_AND_POSTGRES] = sum(used.get(role, 0.0) for role in COST_ROLES)
        return used

    @property
    def backlog_max(self) -> int:
        return max((n for _, n in self.backlog), default=0)

    def details(self, phase: str) -> dict[str, float | int | str]:
        found: dict[str, float | int | str] = {
            f"{phase}_window_s": round(self.seconds, 2),
            f"{phase}_accepted_per_s": round(self.accepted_per_s, 1),
            f"{phase}_sent_per_s": round(self.sent_per_s, 1),
            f"{phase}_delivered_per_s": round(self.delivered_per_s, 1),
            f"{phase}_queued_start": self.start.count("Queued"),
            f"{phase}_queued_end": self.end.count("Queued"),
            f"{phase}_queued_max": self.backlog_max,
            f"{phase}_queued_growth_per_s": round(self.backlog_growth, 1),
            f"{phase}_failed_in_window": self.end.count("Failed") - self.start.count("Failed"),
        }
        found[f"{phase}_reached_read"] = self.reads
        for role, share in cpu_split(self.start, self.end).items():
            found[f"{phase}_cpu_{role.replace(' ', '_')}_pct"] = share
        for role, millis in self.cpu_per_read_ms().items():
            found[f"{phase}_ms_cpu_per_read_{_key(role)}"] = round(millis, 3)
        return found


@dataclass(frozen=True)
class Latencies:
    """accept -> Sent of the window's messages, in ms."""

    p50_ms: float
    p99_ms: float
    messages: int
    unsent: int  # still Queued after the drain: counted with their age then (a lower bound)
    no_sent_step: int  # delivered, but with no Sent step in the journey


@dataclass(frozen=True)
class BundlePhase:
    window: Window
    offer: Offer
    latencies: Latencies | None


async def bundle_phase(
    rig: Rig, rate: int, warmup: float, duration: float, *, latency: bool
) -> BundlePhase:
    connection = await connect(rig.database)
    sampler_connection = await connect(rig.database)
    offer = Offer()
    samples: list[tuple[float, int]] = []
    try:
        async with httpx.AsyncClient(
            base_url=rig.server.base_url,
            headers=rig.auth,
            verify=rig.tls.client_context(),
            timeout=CLIENT_TIMEOUT,
            limits=httpx.Limits(max_connections=CLIENT_CONNECTIONS),
        ) as client:
            load = asyncio.create_task(
                offer_bundles(client, rate, warmup + duration, rcs_numbers(), offer)
            )
            await asyncio.sleep(warmup)
            start = await snapshot(connection, rig)
            sampler = asyncio.create_task(sample_queued(sampler_connection, rig, samples))
            await asyncio.sleep(start.monotonic + duration - time.monotonic())
            end = await snapshot(connection, rig)
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            await load
        window = Window(start, end, tuple(samples))
        found = await accept_to_sent(connection, rig, window) if latency else None
    finally:
        await connection.close()
        await sampler_connection.close()
    if offer.failures:
        raise rig.fail(f"{len(offer.failures)} POST /v3/bundles failed, e.g. {offer.failures[:3]}")
    return BundlePhase(window, offer, found)


async def accept_to_sent(connection: asyncpg.Connection, rig: Rig, window: Window) -> Latencies:
    """Waits (a while) for the window's messages to be Sent, then reads their latencies."""
    bounds = (rig.account_id, window.start.wall, window.end.wall)
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while time.monotonic() < deadline:
        queued = await connection.fetchval(
            "SELECT count(*) FROM messages WHERE account_id = $1 AND created_at >= $2 "
            "AND created_at < $3 AND status = 'Queued'",
            *bounds,
        )
        if not queued:
            break
        await asyncio.sleep(0.5)
    # A message's first step past Queued dates its hand-over: normally Sent, but a receipt
    # can come first, and a batch that failed after its submits never records Sent at all.
    rows = await connection.fetch(
        "SELECT EXTRACT(EPOCH FROM (coalesce(min(e.at), now()) - m.created_at)) AS seconds, "
        "min(e.at) IS NULL AS unsent, coalesce(bool_or(e.status = 'Sent'), false) AS journaled "
        "FROM messages m LEFT JOIN message_events e "
        "ON e.message_id = m.id AND e.status IN ('Sent', 'Delivered', 'Read') "
        "WHERE m.account_id = $1 AND m.created_at >= $2 AND m.created_at < $3 "
        "AND m.direction = 'Outbound' AND m.status NOT IN ('Failed', 'Cancelled') "
        "GROUP BY m.id, m.created_at",
        *bounds,
    )
    if not rows:
        raise rig.fail("no message was created in the measured window")
    millis = sorted(float(row["seconds"]) * 1000 for row in rows)
    unsent = sum(1 for row in rows if row["unsent"])
    no_sent = sum(1 for row in rows if not row["unsent"] and not row["journaled"])
    return Latencies(_percentile(millis, 50), _percentile(millis, 99), len(millis), unsent, no_sent)


def _percentile(ordered: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


# -- phase 4: single messages with wrk ----------------------------------------------------------


@dataclass(frozen=True)
class SinglePhase:
    window: Window
    wrk: WrkRun
    latencies: Latencies


def single_phase(rig: Rig, options: Options) -> SinglePhase:
    url = rig.server.base_url + "/v3/conversations"

    def wrk(seconds: int) -> WrkRun:
        try:
            return run_wrk(
                url,
                duration=seconds,
                connections=options.connections,
                headers=rig.auth,
                script=SINGLE_SCRIPT,
            )
        except BenchError as error:
            raise rig.fail(str(error)) from error

    if options.warmup > 0:
        wrk(options.warmup)

    async def edge() -> Snapshot:
        connection = await connect(rig.database)
        try:
            return await snapshot(connection, rig)
        finally:
            await connection.close()

    start = run(edge())
    measured = wrk(options.duration)
    end = run(edge())
    window = Window(
        start, end, ((start.monotonic, start.count("Queued")), (end.monotonic, end.count("Queued")))
    )

    async def latencies() -> Latencies:
        connection = await connect(rig.database)
        try:
            return await accept_to_sent(connection, rig, window)
        finally:
            await connection.close()

    return SinglePhase(window, measured, run(latencies()))


# -- phase 1: the baseline ----------------------------------------------------------------------


@dataclass(frozen=True)
class BaselineRun:
    submits_per_s: float
    submits: int
    failures: int
    p50_ms: float
    p99_ms: float
    cpu: dict[str, float]


def baseline_phase(data_dir: Path, concurrency: int, warmup: float, duration: float) -> BaselineRun:
    """A fresh simulator (no pushes left over from an earlier run) and a fresh sink."""
    data_dir.mkdir(parents=True, exist_ok=True)
    cert, key = ensure_self_signed(data_dir / "tls")
    tls = Tls(cert, key)
    port = free_port()
    command = uvicorn_command("bench.callback_sink:app", port, tls)
    with (
        running("sink", command, port=port, tls=tls, log_dir=data_dir) as sink,
        simulator_process(data_dir, sink.base_url) as simulator,
    ):
        pids = {"simulator": simulator.background.process.pid, "sink": sink.process.pid}
        credentials = json.loads(Path(simulator.env["RCSGATE_RBM_CREDENTIALS"]).read_text())
        result = asyncio.run(
            _drive_simulator(simulator, credentials, pids, concurrency, warmup, duration)
        )
        simulator.background.check_alive()
        return result


async def _drive_simulator(
    simulator: SimulatorProcess,
    credentials: dict[str, Any],
    pids: dict[str, int],
    concurrency: int,
    warmup: float,
    duration: float,
) -> BaselineRun:
    """`concurrency` loops, each submitting one message after another, as the RBM
    connector does (same path, query and body), to fresh RCS numbers."""
    tokens = TokenSource(credentials)
    token = await tokens.token()
    tokens.close()
    numbers = rcs_numbers()
    counting = False
    done: list[float] = []
    failures: list[str] = []
    stop = asyncio.Event()

    async def submitter(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            path = f"/v1/phones/+{next(numbers)}/agentMessages"
            params = {"messageId": new_id(), "agentId": "bench"}
            started = time.perf_counter()
            try:
                response = await client.post(
                    path, params=params, json={"contentMessage": {"text": CONTENT}}
                )
            except httpx.HTTPError as error:
                failures.append(repr(error))
                continue
            if response.status_code != 200:
                failures.append(f"{response.status_code}: {response.text[:200]}")
            elif counting:
                done.append(time.perf_counter() - started)

    client = http_client(timeout=CLIENT_TIMEOUT, max_connections=concurrency)
    client.base_url = httpx.URL(simulator.rbm_base_url)
    client.headers["Authorization"] = f"Bearer {token}"
    async with client:
        loops = [asyncio.create_task(submitter(client)) for _ in range(concurrency)]
        await asyncio.sleep(warmup)
        counting = True
        started, cpu_before = time.monotonic(), _baseline_cpu(pids)
        await asyncio.sleep(duration)
        counting = False
        seconds, cpu_after = time.monotonic() - started, _baseline_cpu(pids)
        stop.set()
        await asyncio.gather(*loops)
    # A connection the server closed as it was reused is a retry for the connector too; a few
    # are tolerated (and saved), more mean the baseline measured failures.
    if len(failures) > BASELINE_FAILURES_TOLERATED * max(1, len(done)):
        raise BenchError(f"{len(failures)} submits to the simulator failed, e.g. {failures[:3]}")
    millis = sorted(value * 1000 for value in done)
    cpu = {
        role: round(100 * (cpu_after[role] - cpu_before[role]) / seconds, 1) for role in cpu_after
    }
    return BaselineRun(
        len(done) / seconds,
        len(done),
        len(failures),
        _percentile(millis, 50),
        _percentile(millis, 99),
        cpu,
    )


def _baseline_cpu(pids: Mapping[str, int]) -> dict[str, float]:
    return {**cpu_of(pids), "load generator": own_cpu(), "machine": machine_busy()}


# -- the benchmark ------------------------------------------------------------------------------


@benchmark(
    "pipeline",
    "accept -> RBM submit over HTTP to the simulator -> Delivered, PostgreSQL, vs bare submits",
)
def pipeline(options: Options) -> BenchResult:
    mode = os.environ.get(MODE_ENV, MODES[0])
    if mode not in MODES:
        raise BenchError(f"{MODE_ENV}={mode!r}: use one of {', '.join(MODES)}")
    with tempfile.TemporaryDirectory(prefix="rcsgate-bench-") as tmp:
        root = Path(tmp)
        _progress(f"baseline: {BASELINE_CONCURRENCY} submits in flight -> `rcsgate simulator`")
        baseline = baseline_phase(
            root / "baseline", BASELINE_CONCURRENCY, options.warmup, options.duration
        )
        _progress(f"sustained: {SUSTAINED_RATE:,} msg/s offered in bundles ({mode})")
        with rig(mode, root / "sustained") as deployment:
            sustained = run(
                bundle_phase(
                    deployment, SUSTAINED_RATE, options.warmup, options.duration, latency=False
                )
            )
            deployment.check_alive()
        _progress(f"latency: {LATENCY_RATE:,} msg/s offered in bundles ({mode})")
        with rig(mode, root / "latency") as deployment:
            latency = run(
                bundle_phase(
                    deployment, LATENCY_RATE, options.warmup, options.duration, latency=True
                )
            )
            deployment.check_alive()
        _progress(f"latency: {LOW_RATE:,} msg/s offered in bundles ({mode})")
        with rig(mode, root / "low") as deployment:
            low = run(
                bundle_phase(
                    deployment,
                    LOW_RATE,
                    options.warmup,
                    min(options.duration, LOW_DURATION),
                    latency=True,
                )
            )
            deployment.check_alive()
        _progress(f"single: POST /v3/conversations with wrk ({mode})")
        with rig(mode, root / "single") as deployment:
            single = single_phase(deployment, options)
            deployment.check_alive()
            database = deployment.database
    return _result(mode, options, baseline, sustained, (latency, low), single, database)


def _progress(text: str) -> None:
    print(f"bench: pipeline: {text}...", file=sys.stderr, flush=True)


def _result(
    mode: str,
    options: Options,
    baseline: BaselineRun,
    sustained: BundlePhase,
    latencies: tuple[BundlePhase, BundlePhase],
    single: SinglePhase,
    database: Database,
) -> BenchResult:
    bare = baseline.submits_per_s
    held = sustained.window
    latency, low = latencies
    assert latency.latencies is not None
    assert low.latencies is not None
    timing, low_timing = latency.latencies, low.latencies
    growth_limit = BACKLOG_GROWTH_LIMIT * SUSTAINED_RATE
    layout = {
        "inprocess": "`rcsgate serve` with in-process simulator (delay scale "
        f"{DELAY_SCALE}) and dispatch",
        "split": "`rcsgate simulator` + `rcsgate serve --no-simulator` (dispatch off) + "
        "`rcsgate worker`",
    }[mode]
    details: dict[str, float | int | str] = {
        "mode": mode,
        "rcsgate_env": " ".join(f"{k}={v}" for k, v in tuning().items()) or "(defaults)",
        "baseline_submits": baseline.submits,
        "baseline_failures": baseline.failures,
        "baseline_submit_p50_ms": round(baseline.p50_ms, 1),
        "baseline_submit_p99_ms": round(baseline.p99_ms, 1),
        "baseline_concurrency": BASELINE_CONCURRENCY,
        **{f"baseline_cpu_{k.replace(' ', '_')}_pct": v for k, v in baseline.cpu.items()},
        **held.details("sustained"),
        "sustained_bundle_post_p50_ms": _ms(sustained.offer.post_seconds, 50),
        "sustained_bundle_post_p99_ms": _ms(sustained.offer.post_seconds, 99),
        "sustained_client_most_late_s": round(sustained.offer.most_late, 3),
        **latency.window.details("latency"),
        "latency_messages": timing.messages,
        "latency_unsent_after_drain": timing.unsent,
        "latency_delivered_without_sent_step": timing.no_sent_step,
        "latency_bundle_post_p99_ms": _ms(latency.offer.post_seconds, 99),
        **low.window.details("low"),
        "low_rate": LOW_RATE,
        "low_accept_to_sent_p50_ms": round(low_timing.p50_ms, 1),
        "low_accept_to_sent_p99_ms": round(low_timing.p99_ms, 1),
        "low_messages": low_timing.messages,
        "low_unsent_after_drain": low_timing.unsent,
        "low_delivered_without_sent_step": low_timing.no_sent_step,
        **single.window.details("single"),
        "single_wrk_requests_per_s": round(single.wrk.requests_per_second, 1),
        "single_wrk_p50_ms": round(single.wrk.latency_p50_us / 1000, 1),
        "single_wrk_p99_ms": round(single.wrk.latency_p99_us / 1000, 1),
        "single_accept_to_sent_p50_ms": round(single.latencies.p50_ms, 1),
        "single_accept_to_sent_p99_ms": round(single.latencies.p99_ms, 1),
        "single_unsent_after_drain": single.latencies.unsent,
        "single_delivered_without_sent_step": single.latencies.no_sent_step,
        "duration_s": options.duration,
        "warmup_s": options.warmup,
        "connections_single": options.connections,
        "database": database.name,
    }
    return BenchResult(
        name="pipeline",
        title="accept -> RBM submit over HTTP to the simulator -> Delivered vs bare submits",
        figure_name="rcsgate",
        baseline_name="bare submits",
        setup=(
            f"{layout}; {_describe(tuning())}; TLS, 1 uvicorn worker, PostgreSQL (fresh per "
            "phase) + Redis; "
            f"{options.duration:g} s after {options.warmup:g} s warm-up per phase; baseline: "
            f"the connector's client, {BASELINE_CONCURRENCY} in flight -> `rcsgate simulator` "
            f"(pushes to a bare sink); {os.cpu_count()} CPUs, same host"
        ),
        measures=(
            Measure(
                f"Delivered, {SUSTAINED_RATE:,}/s offered (bundles)",
                "msg/s",
                held.delivered_per_s,
                bare,
            ),
            Measure.absolute(
                "  same vs DESIGN.md floor",
                "msg/s",
                held.delivered_per_s,
                TARGET_RATE,
                higher_is_better=True,
            ),
            Measure.absolute(
                "  Queued backlog growth",
                "msg/s",
                held.backlog_growth,
                growth_limit,
                higher_is_better=False,
            ),
            *cost_measures(held.cpu_per_read_ms(), "  CPU per msg reached Read (window):"),
            Measure(
                f"Delivered, {LATENCY_RATE:,}/s offered (bundles)",
                "msg/s",
                latency.window.delivered_per_s,
                bare,
            ),
            Measure(
                f"  accept->Sent p50 at {LATENCY_RATE:,}/s",
                "ms",
                timing.p50_ms,
                TARGET_P99_MS,
                higher_is_better=False,
                fixed=True,
            ),
            Measure.absolute(
                f"  accept->Sent p99 at {LATENCY_RATE:,}/s",
                "ms",
                timing.p99_ms,
                TARGET_P99_MS,
                higher_is_better=False,
            ),
            _cost_context(latency.window, f"  CPU per msg reached Read at {LATENCY_RATE:,}/s"),
            Measure(
                f"Delivered, {LOW_RATE:,}/s offered (bundles)",
                "msg/s",
                low.window.delivered_per_s,
                bare,
            ),
            Measure(
                f"  accept->Sent p99 at {LOW_RATE:,}/s",
                "ms",
                low_timing.p99_ms,
                TARGET_P99_MS,
                higher_is_better=False,
                fixed=True,
            ),
            _cost_context(low.window, f"  CPU per msg reached Read at {LOW_RATE:,}/s"),
            Measure(
                "single sends accepted (wrk, closed loop)",
                "msg/s",
                single.window.accepted_per_s,
                bare,
            ),
            Measure("  of which Delivered", "msg/s", single.window.delivered_per_s, bare),
        ),
        details=details,
    )


def cost_measures(per_read_ms: Mapping[str, float], title: str) -> tuple[Measure, ...]:
    """ms of CPU per message that reached Read: rcsgate's processes + PostgreSQL against
    DESIGN.md's 1.5 ms, then each process beside the same budget (no target of its own),
    the simulator last and apart (it stands in for the operator and the phones)."""

    def part(label: str, role: str) -> Measure:
        return Measure(
            label, "ms", per_read_ms[role], TARGET_CPU_MS, higher_is_better=False, fixed=True
        )

    total = Measure.absolute(
        f"{title} {RCSGATE_AND_POSTGRES}",
        "ms",
        per_read_ms[RCSGATE_AND_POSTGRES],
        TARGET_CPU_MS,
        higher_is_better=False,
    )
    roles = [role for role in (*COST_ROLES, "simulator") if role in per_read_ms]
    return (total, *(part(f"    {COST_LABELS.get(role, role)}", role) for role in roles))


def _cost_context(window: Window, label: str) -> Measure:
    """The same figure in another phase, for context (no target)."""
    millis = window.cpu_per_read_ms()[RCSGATE_AND_POSTGRES]
    return Measure(
        f"{label} ({RCSGATE_AND_POSTGRES})",
        "ms",
        millis,
        TARGET_CPU_MS,
        higher_is_better=False,
        fixed=True,
    )


def tuning() -> dict[str, str]:
    """RCSGATE_* settings from the bench's environment, which every rcsgate process inherits
    (those the bench sets itself win)."""
    own = {"RCSGATE_DATABASE_URL", "RCSGATE_REDIS_URL", "RCSGATE_LOG_LEVEL"}
    return {
        k: v for k, v in sorted(os.environ.items()) if k.startswith("RCSGATE_") and k not in own
    }


def _describe(settings: Mapping[str, str]) -> str:
    if not settings:
        return "rcsgate's default settings"
    return "tuned: " + " ".join(f"{k}={v}" for k, v in settings.items())


def _ms(seconds: Sequence[float], percent: float) -> float:
    return round(_percentile(sorted(seconds), percent) * 1000, 1) if seconds else 0.0


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"
