"""Opaque 24-character lowercase hex ids, ordered by creation time.

Layout (12 bytes): 48-bit Unix time in milliseconds, then 48 bits that are random for the
first id of a millisecond and incremented for the next ones in the same process, so ids made
by one process sort in creation order (like a monotonic ULID).
"""

from __future__ import annotations

import secrets
import threading
import time

_RANDOM_BITS = 48
_RANDOM_MAX = (1 << _RANDOM_BITS) - 1
_lock = threading.Lock()
_last_ms = -1
_last_random = 0


def new_id(now_ms: int | None = None) -> str:
    global _last_ms, _last_random
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    with _lock:
        if ms <= _last_ms and _last_random < _RANDOM_MAX:
            ms, rand = _last_ms, _last_random + 1
        else:
            # Leave headroom so a burst within one millisecond does not overflow.
            rand = secrets.randbits(_RANDOM_BITS - 1)
        _last_ms, _last_random = ms, rand
    return f"{ms:012x}{rand:012x}"


def is_id(value: str) -> bool:
    return len(value) == 24 and all(c in "0123456789abcdef" for c in value)


def id_floor(ms: int) -> str:
    """The smallest id that can be made at Unix time `ms`: every id made before sorts below."""
    return f"{max(ms, 0):012x}{0:012x}"
