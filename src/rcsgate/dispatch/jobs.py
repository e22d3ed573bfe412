"""Enqueueing jobs. A job is a row added to the caller's session, so it commits (or not)
together with the state change that needs it: nothing is sent for a change that rolled back,
and nothing committed lacks its job.

Kinds written by the API (run by the dispatch workers):
- `send_message`: hand one queued message to an operator;
- `send_bundle`: hand a bundle's queued messages to operators, in batches;
- `revoke_message`: revoke a message at its operator;
- `agent_event`: a typing indicator or read receipt to a user.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.kit.clock import Clock
from rcsgate.kit.ids import new_id
from rcsgate.models import Job

DISPATCH_QUEUE = "dispatch"
# The doorbell of the relay loops (kit.wakeup): rung at each commit that inserted jobs.
CHANNEL = "rcsgate_jobs"


def enqueue(
    session: AsyncSession,
    clock: Clock,
    kind: str,
    payload: dict[str, Any],
    *,
    queue: str = DISPATCH_QUEUE,
    run_at: datetime | None = None,
) -> Job:
    now = clock.now()
    job = Job(
        kind=kind,
        queue=queue,
        payload=payload,
        state="ready",
        run_at=run_at or now,
        attempts=0,
        created_at=now,
    )
    session.add(job)
    return job


def job_row(
    clock: Clock, kind: str, payload: dict[str, Any], run_at: datetime | None = None
) -> dict[str, Any]:
    """A new job as a plain row, for inserting many at once."""
    now = clock.now()
    return {
        "id": new_id(),
        "kind": kind,
        "queue": DISPATCH_QUEUE,
        "payload": payload,
        "state": "ready",
        "run_at": run_at or now,
        "attempts": 0,
        "created_at": now,
    }
