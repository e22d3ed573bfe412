"""Benchmarks by name: each module registers its function with `@benchmark`."""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeAlias

from bench.core import BenchResult, Options

# Listed, not discovered, so the order of a full run is stable and readable.
BENCHMARK_MODULES = (
    "bench.account_get",
    "bench.send_accept",
    "bench.bulk_bundle",
    "bench.list_deep",
    "bench.smpp_window",
    "bench.pipeline",
    "bench.pipeline_cost",
    "bench.webhooks",
)

BenchFunction: TypeAlias = Callable[[Options], BenchResult | Awaitable[BenchResult]]


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    function: BenchFunction

    def run(self, options: Options) -> BenchResult:
        """Runs a sync benchmark directly and an async one in a fresh event loop."""
        outcome = self.function(options)
        if inspect.isawaitable(outcome):
            return asyncio.run(_awaited(outcome))
        return outcome


_REGISTRY: dict[str, Benchmark] = {}


def benchmark(name: str, description: str) -> Callable[[BenchFunction], BenchFunction]:
    def register(function: BenchFunction) -> BenchFunction:
        if name in _REGISTRY:
            raise ValueError(f"benchmark {name!r} is registered twice")
        _REGISTRY[name] = Benchmark(name, description, function)
        return function

    return register


def all_benchmarks() -> dict[str, Benchmark]:
    for module in BENCHMARK_MODULES:
        importlib.import_module(module)
    return dict(_REGISTRY)


async def _awaited(outcome: Awaitable[BenchResult]) -> BenchResult:
    return await outcome
