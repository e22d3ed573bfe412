"""What every benchmark shares: its options, its error and the shape of its result."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The machine has 2 cores: one for the server, one for the load generator. More of either
# would only make them fight over the same cores and measure the scheduler.
SERVER_WORKERS = 1
WRK_THREADS = 1
_PR_SET_PDEATHSIG = 1


class BenchError(RuntimeError):
    """A benchmark that cannot give a trustworthy figure; the run fails loudly."""


@dataclass(frozen=True)
class Options:
    duration: int = 10  # seconds; wrk takes whole ones
    warmup: int = 2
    connections: int = 32

    def describe(self) -> str:
        return (
            f"{SERVER_WORKERS} uvicorn worker, wrk {WRK_THREADS} thread x {self.connections} "
            f"connections, {self.duration:g} s after a {self.warmup:g} s warm-up, "
            f"{os.cpu_count()} CPUs, same host"
        )


@dataclass(frozen=True)
class Measure:
    """One figure beside its same-run baseline; `target` bounds figure / baseline.

    A target that is an absolute number (DESIGN.md's "≥ 1,500 req/s") has no same-run
    baseline: `Measure.absolute` puts that number in the baseline's place, marked `fixed`,
    and bounds the ratio by 1.
    """

    label: str
    unit: str
    figure: float
    baseline: float
    target: float | None = None
    higher_is_better: bool = True
    fixed: bool = False  # the baseline is a fixed target, not a figure measured in this run

    @classmethod
    def absolute(
        cls, label: str, unit: str, figure: float, limit: float, *, higher_is_better: bool
    ) -> Measure:
        """`figure` against a fixed limit: met when figure >= limit (or <= for costs)."""
        return cls(label, unit, figure, limit, 1.0, higher_is_better, fixed=True)

    @property
    def ratio(self) -> float:
        return self.figure / self.baseline if self.baseline else float("nan")

    @property
    def met(self) -> bool | None:
        """None when the measure has no target (it is shown for context only)."""
        if self.target is None:
            return None
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target


@dataclass(frozen=True)
class BenchResult:
    name: str
    title: str
    figure_name: str
    baseline_name: str
    setup: str
    measures: tuple[Measure, ...]
    details: dict[str, float | int | str] = field(default_factory=dict)

    @property
    def met(self) -> bool:
        return all(measure.met is not False for measure in self.measures)


def die_with_parent() -> None:
    """`preexec_fn` for every child: on Linux the kernel kills it when the harness dies,
    so not even a `kill -9` of the harness leaves a server or a wrk behind.

    preexec_fn is unsafe with threads in the parent; the harness has one, and this only
    calls prctl.
    """
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
