"""The retry policy: a table keyed by the connector's error class (Jasmin's habit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rcsgate.connectors.base import ConnectorError, ErrorClass
from rcsgate.kit.backoff import Backoff


@dataclass(frozen=True, slots=True)
class RetryRule:
    backoff: Backoff
    max_attempts: int


RETRY_POLICY: dict[ErrorClass, RetryRule] = {
    ErrorClass.TRANSIENT: RetryRule(Backoff(base=1.0, cap=300.0), max_attempts=12),
    ErrorClass.TIMEOUT: RetryRule(Backoff(base=2.0, cap=300.0), max_attempts=12),
    ErrorClass.THROTTLED: RetryRule(Backoff(base=0.5, cap=60.0), max_attempts=40),
    # REJECTED and UNREACHABLE are never retried: the message fails or takes another route.
}


def retry_at(error: ConnectorError, attempts: int, now: datetime) -> datetime | None:
    """When to try again after the `attempts`-th failure, or None to give up."""
    rule = RETRY_POLICY.get(error.error_class)
    if rule is None or attempts >= rule.max_attempts:
        return None
    delay = rule.backoff.delay(attempts)
    if error.retry_after is not None:
        delay = max(delay, error.retry_after)
    return now + timedelta(seconds=delay)
