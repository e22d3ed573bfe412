"""Exponential backoff with optional jitter: the delay before retry number `attempt`."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    base: float = 1.0
    cap: float = 300.0
    factor: float = 2.0
    # A fraction of the delay drawn at random, so many jobs failing together do not come back
    # together; tests set it to 0 to get exact delays.
    jitter: float = 0.1

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the `attempt`-th failure (1-based)."""
        raw = min(self.cap, self.base * self.factor ** max(attempt - 1, 0))
        if not self.jitter:
            return raw
        spread = raw * self.jitter
        return raw - spread + (rng or random).random() * spread
