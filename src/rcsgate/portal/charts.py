"""A stacked bar chart as plain numbers for an SVG template: no JavaScript chart library."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

WIDTH = 720
HEIGHT = 220
LEFT = 48  # room for the axis labels
BOTTOM = 24
TOP = 8


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str
    label: str  # what a screen reader or a tooltip says


@dataclass(frozen=True, slots=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    left: int
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[tuple[float, str]]  # x and text under every few bars


def stacked_bars(
    categories: Sequence[str],
    values: Sequence[Mapping[str, int | Decimal]],
    series: Sequence[str],
) -> Chart:
    """One bar per category, its series stacked in order from the baseline."""
    top = _nice(max((sum(float(v[s]) for s in series) for v in values), default=0))
    plot_height = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(len(categories), 1)
    bars: list[Bar] = []
    for index, (category, value) in enumerate(zip(categories, values, strict=True)):
        stacked = 0.0
        for name in series:
            amount = float(value[name])
            if amount <= 0:
                continue
            height = amount / top * plot_height
            y = HEIGHT - BOTTOM - (stacked + height)
            x = LEFT + index * slot + slot * 0.15
            bars.append(Bar(x, y, slot * 0.7, height, name, f"{category} {name}: {value[name]}"))
            stacked += height
    ticks = [Tick(HEIGHT - BOTTOM - plot_height * i / 4, _format(top * i / 4)) for i in range(5)]
    every = max(1, math.ceil(len(categories) / 8))
    labels = [(LEFT + i * slot + slot / 2, c) for i, c in enumerate(categories) if i % every == 0]
    return Chart(WIDTH, HEIGHT, LEFT, HEIGHT - BOTTOM, bars, ticks, labels)


def _nice(value: float) -> float:
    """The axis top: 1, 2, 2.5 or 5 times a power of ten, at least the value (1 for none)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1.0, 2.0, 2.5, 5.0, 10.0) if step * power >= value)


def _format(value: float) -> str:
    return f"{value:g}" if value < 1000 else f"{value / 1000:g}k"
