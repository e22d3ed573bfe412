"""`python -m bench [NAME ...]`: run benchmarks, print a table each, save JSON beside it."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from bench.core import BenchError, Options
from bench.registry import Benchmark, all_benchmarks
from bench.report import render, write_json

BUSY_LOAD = 1.0


def main(argv: Sequence[str] | None = None) -> int:
    # SIGTERM (e.g. from a CI timeout) unwinds like Ctrl-C, so every server is stopped.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    benchmarks = all_benchmarks()
    parser = _parser(benchmarks)
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in benchmarks]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(benchmarks)}")
    if args.list:
        for item in benchmarks.values():
            print(f"{item.name:20} {item.description}")
        return 0
    options = Options(duration=args.duration, warmup=args.warmup, connections=args.connections)
    selected = [benchmarks[name] for name in args.names or benchmarks]
    return _run_all(selected, options, strict=args.strict)


def _run_all(selected: list[Benchmark], options: Options, *, strict: bool) -> int:
    _warn_if_busy()
    missed = []
    for item in selected:
        print(f"bench: running {item.name} ({options.describe()})...", file=sys.stderr, flush=True)
        try:
            result = item.run(options)
        except BenchError as error:
            print(f"bench: {item.name} FAILED: {error}", file=sys.stderr)
            return 1
        print(render(result), flush=True)
        print(f"  (saved {write_json(result)})\n", flush=True)
        if not result.met:
            missed.append(item.name)
    if missed:
        print(f"bench: target missed by {', '.join(missed)}", file=sys.stderr)
    return 1 if missed and strict else 0


def _warn_if_busy() -> None:
    """Both cores are in use by the bench itself; anything else running skews the figures."""
    load = os.getloadavg()[0]
    if load > BUSY_LOAD:
        print(
            f"bench: warning: 1-minute load average is {load:.1f} before starting; "
            "other work on this machine will make the figures noisy",
            file=sys.stderr,
        )


def _parser(benchmarks: dict[str, Benchmark]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"to run (default: all): {', '.join(benchmarks)}"
    )
    parser.add_argument("--duration", type=_positive, default=10, help="measured seconds (10)")
    parser.add_argument("--warmup", type=int, default=2, help="discarded seconds before (2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a target is missed, not only on errors"
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main())
