"""CPU seconds from /proc: of our processes, of PostgreSQL's for one database, of the machine.

Throughput on a shared 2-core machine measures how busy the machine was; CPU seconds per unit
of work (per request, per message) measure the code. Every figure here is utime + stime, all
threads, in seconds; a process that is gone reads 0, so callers take differences of readings
and keep the last one they saw.

What counts as PostgreSQL's (PostgresCpu):
- `postgres`: every backend serving the bench's database (pg_stat_activity.datname; its
  autovacuum workers included), except the harness's own connections, which set
  application_name HARNESS_APPLICATION (bench/database.py). A backend seen first after the
  first reading counts from 0 (it was born in between); one that exits keeps its last reading,
  so a connection born and gone between two readings is missed, which rcsgate's pooled
  connections never are.
- `postgres shared`: the postmaster and its processes with no database (walwriter,
  checkpointer, background writer, launchers). They work for every database on the server, so
  other work on the machine lands there too: reported, never part of a per-message figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
HARNESS_APPLICATION = "rcsgate-bench"
POSTGRES = "postgres"
POSTGRES_SHARED = "postgres shared"
SAMPLE_EVERY = 0.25  # seconds between readings of PostgreSQL's backends in `sampling`
_BACKENDS = (
    "SELECT pid, datname IS NOT NULL AS own FROM pg_stat_activity "
    "WHERE (datname = $1 AND application_name <> $2) OR datname IS NULL"
)


def process_cpu(pid: int) -> float:
    """utime + stime of the process (all its threads), in seconds; 0 once it is gone."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS if fields else 0.0


def session_cpu(pid: int) -> float:
    """CPU of the process group `pid` leads (the harness starts each server in a session of
    its own): its live members, plus the children the leader has already reaped."""
    fields = _stat(pid)
    if not fields:
        return 0.0
    reaped = (int(fields[13]) + int(fields[14])) / CLOCK_TICKS
    members = (member for member, group in _groups() if group == pid)
    return reaped + sum(process_cpu(member) for member in members)


def cpu_of(pids: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds so far of each role's process (and what it forked), by role."""
    return {role: session_cpu(pid) for role, pid in pids.items()}


def own_cpu() -> float:
    """The harness itself and the children it has reaped (finished wrk runs)."""
    own = os.times()
    return own.user + own.system + own.children_user + own.children_system


def machine_busy() -> float:
    """All the machine's non-idle CPU seconds since boot (every core)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def named_cpu(command: str) -> float:
    """CPU of every process whose command name is `command` (e.g. redis-server)."""
    return sum(process_cpu(pid) for pid, comm in _commands() if comm == command)


def per_unit_ms(
    before: Mapping[str, float], after: Mapping[str, float], units: int
) -> dict[str, float]:
    """Milliseconds of CPU per unit of work, by role, between two readings."""
    if units <= 0:
        return {role: float("nan") for role in after}
    return {role: 1000 * (after[role] - before.get(role, 0.0)) / units for role in after}


@dataclass
class PostgresCpu:
    """Cumulative CPU of PostgreSQL's processes for one database (see the module docstring);
    `sample` it at every edge of a measured window, and often in between if connections may
    come and go."""

    database: str
    _start: dict[int, float] = field(default_factory=dict)
    _last: dict[int, float] = field(default_factory=dict)
    _own: set[int] = field(default_factory=set)
    _sampled: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)  # `sampling`'s thread

    async def sample(self, connection: asyncpg.Connection) -> dict[str, float]:
        rows = await connection.fetch(_BACKENDS, self.database, HARNESS_APPLICATION)
        pids = {int(row["pid"]): bool(row["own"]) for row in rows}
        if pids:
            postmaster = _parent(next(iter(pids)))
            if postmaster:
                pids.setdefault(postmaster, False)
        readings = {pid: process_cpu(pid) for pid in pids}
        with self._lock:
            for pid, seconds in readings.items():
                self._start.setdefault(pid, seconds if not self._sampled else 0.0)
                self._last[pid] = max(seconds, self._last.get(pid, 0.0))
                if pids[pid]:
                    self._own.add(pid)
            self._sampled = True
        return self.seconds()

    def seconds(self) -> dict[str, float]:
        """CPU seconds since the first sample: this database's, and the shared processes'."""
        with self._lock:
            used = {pid: self._last[pid] - self._start[pid] for pid in self._last}
        return {
            POSTGRES: sum(v for pid, v in used.items() if pid in self._own),
            POSTGRES_SHARED: sum(v for pid, v in used.items() if pid not in self._own),
        }


class Sampler:
    """Samples a PostgresCpu every SAMPLE_EVERY s from a thread of its own, so a pooled
    connection opened and closed mid-run is counted while the harness blocks on wrk; `now`
    takes a fresh reading at a window's edge."""

    def __init__(self, postgres: PostgresCpu, dsn: str) -> None:
        self.postgres = postgres
        self._dsn = dsn
        self._wake, self._stop = threading.Event(), threading.Event()
        self._done = threading.Condition()
        self._started = self._finished = 0
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="postgres-cpu", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self.now()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join()

    def now(self) -> dict[str, float]:
        """CPU seconds so far, from a sample begun after this call."""
        with self._done:
            wanted = self._started + 1
            self._wake.set()
            while self._finished < wanted and self._failure is None:
                self._done.wait()
        if self._failure is not None:
            raise self._failure
        return self.postgres.seconds()

    def _run(self) -> None:
        try:
            asyncio.run(self._loop())
        except BaseException as error:  # raised again in the harness's thread, by `now`
            with self._done:
                self._failure = error
                self._done.notify_all()

    async def _loop(self) -> None:
        connection = await asyncpg.connect(
            self._dsn, server_settings={"application_name": HARNESS_APPLICATION}
        )
        try:
            while not self._stop.is_set():
                with self._done:
                    self._wake.clear()
                    self._started += 1
                await self.postgres.sample(connection)
                with self._done:
                    self._finished += 1
                    self._done.notify_all()
                self._wake.wait(SAMPLE_EVERY)
        finally:
            await connection.close()


@contextlib.contextmanager
def sampling(postgres: PostgresCpu, dsn: str) -> Iterator[Sampler]:
    """A running Sampler for the block, with its first reading taken."""
    sampler = Sampler(postgres, dsn)
    try:
        sampler.start()
        yield sampler
    finally:
        sampler.stop()


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat's fields after the command name; empty once the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return stat.rsplit(")", 1)[1].split()


def _parent(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[1]) if fields else 0


def _groups() -> Iterator[tuple[int, int]]:
    for pid in _pids():
        fields = _stat(pid)
        if fields:
            yield pid, int(fields[2])


def _commands() -> Iterator[tuple[int, str]]:
    for pid in _pids():
        with contextlib.suppress(OSError):
            yield pid, Path(f"/proc/{pid}/comm").read_text().strip()


def _pids() -> Iterator[int]:
    return (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
