"""rcsgate against a bare FastAPI endpoint in the same run: both servers up, wrk alternating.

Both servers run for the whole measurement (an idle one costs nothing) and wrk loads one at a
time: a warm-up of each, then ROUNDS rounds in the order A B, B A, ... so a drift of the
machine's load over the run (other work starting or stopping) falls on both alike. Each
server's figures are the sum of its measured rounds; latency percentiles are its worse round's.

Besides requests per second, which on a shared machine say how much of a core the server got,
the CPU its process (and, for rcsgate, PostgreSQL's backends for its database) used during its
rounds is read from /proc and divided by the requests: the cost of a request, which holds
however busy the machine is. What a server burns when idle (rcsgate's background loops) is
read over IDLE_SECONDS after the warm-ups, with no load on either: the per-request figure is
shown with and without it, since on a starved machine idle time is a large share of a round.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

from bench.core import BenchError, Measure, Options
from bench.cpu import POSTGRES, Sampler, own_cpu, session_cpu
from bench.servers import Server
from bench.wrk import LUA_SCRIPT, WrkRun, run_wrk

ROUNDS = 2
IDLE_SECONDS = 2.0
SERVER = "server"
LOAD_GENERATOR = "load generator"


@dataclass(frozen=True)
class Contender:
    """One server to load: its URL's path, headers, and where its CPU is read."""

    server: Server
    path: str
    headers: dict[str, str]
    postgres: Sampler | None = None  # PostgreSQL's backends serving it, if it has a database

    def cpu(self) -> dict[str, float]:
        seconds = {SERVER: session_cpu(self.server.process.pid), LOAD_GENERATOR: own_cpu()}
        if self.postgres is not None:
            seconds[POSTGRES] = self.postgres.now()[POSTGRES]
        return seconds


@dataclass(frozen=True)
class Measured:
    """One contender's measured rounds (its warm-up apart)."""

    warmup: WrkRun | None
    rounds: tuple[WrkRun, ...]
    cpu: dict[str, float]  # seconds over the measured rounds, by role
    idle: dict[str, float]  # CPU seconds per second with no load, by role

    @property
    def requests(self) -> int:
        return int(sum(run.requests for run in self.rounds))

    @property
    def acknowledged(self) -> int:
        """Responses wrk received over warm-up and rounds, all 2xx (run_wrk checks)."""
        return self.requests + (int(self.warmup.requests) if self.warmup else 0)

    @property
    def runs(self) -> int:
        return len(self.rounds) + (1 if self.warmup else 0)

    @property
    def seconds(self) -> float:
        return sum(run.duration_us for run in self.rounds) / 1e6

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    def cpu_ms_per_request(self, *roles: str, net_of_idle: bool = False) -> float:
        if not self.requests:
            return math.nan
        used = sum(self.cpu.get(role, 0.0) for role in roles)
        if net_of_idle:
            used -= self.seconds * sum(self.idle.get(role, 0.0) for role in roles)
        return 1000 * used / self.requests

    @property
    def latency_p50_ms(self) -> float:
        return max(run.latency_p50_us for run in self.rounds) / 1000

    @property
    def latency_p99_ms(self) -> float:
        return max(run.latency_p99_us for run in self.rounds) / 1000


def alternate(
    rcsgate: Contender, bare: Contender, options: Options, script: Path = LUA_SCRIPT
) -> tuple[Measured, Measured]:
    """Warm-ups, then ROUNDS alternating rounds splitting options.duration between them."""
    seconds = max(1, math.ceil(options.duration / ROUNDS))
    contenders = (rcsgate, bare)
    warmups = [_warmup(contender, options, script) for contender in contenders]
    idle = _idle(contenders)
    rounds: tuple[list[WrkRun], list[WrkRun]] = ([], [])
    cpu: tuple[dict[str, float], dict[str, float]] = ({}, {})
    for index in range(ROUNDS):
        order = (0, 1) if index % 2 == 0 else (1, 0)
        for which in order:
            run, used = _measured(contenders[which], seconds, options, script)
            rounds[which].append(run)
            for role, value in used.items():
                cpu[which][role] = cpu[which].get(role, 0.0) + value
    return (
        Measured(warmups[0], tuple(rounds[0]), cpu[0], idle[0]),
        Measured(warmups[1], tuple(rounds[1]), cpu[1], idle[1]),
    )


def _idle(contenders: tuple[Contender, ...]) -> list[dict[str, float]]:
    """CPU seconds per second of each contender over IDLE_SECONDS with no load on any."""
    before = [contender.cpu() for contender in contenders]
    time.sleep(IDLE_SECONDS)
    after = [contender.cpu() for contender in contenders]
    return [
        {role: (end[role] - start[role]) / IDLE_SECONDS for role in end if role != LOAD_GENERATOR}
        for start, end in zip(before, after, strict=True)
    ]


def _warmup(contender: Contender, options: Options, script: Path) -> WrkRun | None:
    if options.warmup <= 0:
        return None
    return _wrk(contender, options.warmup, options, script)


def _measured(
    contender: Contender, seconds: int, options: Options, script: Path
) -> tuple[WrkRun, dict[str, float]]:
    before = contender.cpu()
    run = _wrk(contender, seconds, options, script)
    after = contender.cpu()
    return run, {role: after[role] - before[role] for role in after}


def _wrk(contender: Contender, seconds: int, options: Options, script: Path) -> WrkRun:
    url = contender.server.base_url + contender.path
    try:
        return run_wrk(
            url,
            duration=seconds,
            connections=options.connections,
            headers=contender.headers,
            script=script,
        )
    except BenchError as error:
        raise contender.server.fail(str(error)) from error


def comparison(
    rcsgate: Measured, bare: Measured, *, target_ratio: float, postgres: bool
) -> list[Measure]:
    """Throughput (against `target_ratio` of bare), CPU per request, then latencies."""
    measures = [
        Measure(
            "throughput",
            "req/s",
            rcsgate.requests_per_second,
            bare.requests_per_second,
            target=target_ratio,
        ),
        Measure(
            "server process CPU per request",
            "ms",
            rcsgate.cpu_ms_per_request(SERVER),
            bare.cpu_ms_per_request(SERVER),
            higher_is_better=False,
        ),
        Measure(
            f"  net of its idle CPU ({100 * rcsgate.idle[SERVER]:.1f}% of a core)",
            "ms",
            rcsgate.cpu_ms_per_request(SERVER, net_of_idle=True),
            bare.cpu_ms_per_request(SERVER, net_of_idle=True),
            higher_is_better=False,
        ),
    ]
    if postgres:
        measures.append(
            Measure(
                "  + PostgreSQL (this database)",
                "ms",
                rcsgate.cpu_ms_per_request(SERVER, POSTGRES),
                bare.cpu_ms_per_request(SERVER),
                higher_is_better=False,
            )
        )
    measures += [
        Measure(
            "latency p50 (worse round)",
            "ms",
            rcsgate.latency_p50_ms,
            bare.latency_p50_ms,
            higher_is_better=False,
        ),
        Measure(
            "latency p99 (worse round)",
            "ms",
            rcsgate.latency_p99_ms,
            bare.latency_p99_ms,
            higher_is_better=False,
        ),
    ]
    return measures


def details(rcsgate: Measured, bare: Measured) -> dict[str, float | int | str]:
    found: dict[str, float | int | str] = {"rounds": ROUNDS}
    for name, side in (("rcsgate", rcsgate), ("bare", bare)):
        found[f"{name}_requests"] = side.requests
        found[f"{name}_round_req_per_s"] = " ".join(
            f"{run.requests_per_second:.0f}" for run in side.rounds
        )
        for role, rate in side.idle.items():
            found[f"{name}_idle_cpu_pct_{role.replace(' ', '_')}"] = round(100 * rate, 1)
        for role in side.cpu:
            key = role.replace(" ", "_")
            found[f"{name}_cpu_s_{key}"] = round(side.cpu[role], 2)
            found[f"{name}_ms_cpu_per_request_{key}"] = round(side.cpu_ms_per_request(role), 3)
    return found
