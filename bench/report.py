"""Results for people (a table on stdout) and for machines (bench/results/<name>.json)."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.core import PROJECT_ROOT, BenchResult, Measure

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"  # git-ignored


def render(result: BenchResult) -> str:
    header = ["measure", result.figure_name, result.baseline_name, "ratio", "target", ""]
    rows = [header, *(_row(measure) for measure in result.measures)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = [f"{result.name}: {result.title}", f"  ({result.setup})"]
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:-1], widths[1:-1], strict=True)]
        lines.append("  " + "  ".join([*cells, row[-1]]).rstrip())
        if index == 0:
            lines.append("  " + "  ".join("-" * width for width in widths[:-1]))
    verdict = "target met" if result.met else "TARGET MISSED"
    lines.append(f"  => {verdict}")
    return "\n".join(lines)


def write_json(result: BenchResult, directory: Path = RESULTS_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{result.name}.json"
    path.write_text(json.dumps(as_json(result), indent=2) + "\n")
    return path


def as_json(result: BenchResult) -> dict[str, Any]:
    data = asdict(result)
    data["measures"] = [
        {**asdict(measure), "ratio": _finite(measure.ratio), "met": measure.met}
        for measure in result.measures
    ]
    data["met"] = result.met
    data["run"] = _run_facts()
    return data


def _row(measure: Measure) -> list[str]:
    return [
        f"{measure.label} ({measure.unit})",
        _number(measure.figure),
        _number(measure.baseline) + (" (fixed)" if measure.fixed else ""),
        _ratio(measure),
        _target(measure),
        {True: "ok", False: "MISSED", None: ""}[measure.met],
    ]


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _ratio(measure: Measure) -> str:
    # A throughput ratio reads best as a share of the baseline, a latency one as a factor.
    return f"{measure.ratio:.1%}" if measure.higher_is_better else f"{measure.ratio:.2f}x"


def _target(measure: Measure) -> str:
    if measure.target is None:
        return "-"
    if measure.higher_is_better:
        return f">= {measure.target:.0%}"
    return f"<= {measure.target:.2f}x"


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _run_facts() -> dict[str, Any]:
    """Enough to tell later which code on which machine gave the figures."""
    return {
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
        )
    except OSError:
        return ""
    return done.stdout.strip()
