"""Operator → rcsgate callbacks as operators send them: retried until acknowledged."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx
import structlog

log = structlog.get_logger(__name__)
ATTEMPTS = 5
BACKOFF_S = 0.2
# httpcore's pool slows down sharply with a long queue of waiting requests: callbacks take
# turns through this many slots instead.
IN_FLIGHT = 64
_slots: dict[int, asyncio.Semaphore] = {}


async def post_until_acknowledged(
    http: httpx.AsyncClient, url: str, body: bytes, headers: Mapping[str, str]
) -> bool:
    """POST until a 2xx, a few times with backoff; False when every attempt failed."""
    slots = _slots.setdefault(id(http), asyncio.Semaphore(IN_FLIGHT))
    for attempt in range(ATTEMPTS):
        try:
            async with slots:
                response = await http.post(url, content=body, headers=headers)
            response.raise_for_status()
            return True
        except httpx.HTTPError as error:
            log.warning("simulator.callback_failed", url=url, error=repr(error), attempt=attempt)
            await asyncio.sleep(BACKOFF_S * 2**attempt)
    return False
