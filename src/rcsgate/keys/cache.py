"""A short-lived, in-process cache of authenticated keys.

Looking a key up in the database on every request would cost more than the rest of a cheap
request. Live keys are remembered for `ttl` seconds (RCSGATE_KEY_CACHE_SECONDS), so a key
revoked in another process stops working within that time everywhere; a revocation made in
this process is forgotten at once (`forget_key`). Unknown tokens are never cached, so a flood
of bad tokens cannot fill memory.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta

from rcsgate.keys.service import Principal
from rcsgate.kit.clock import Clock

MAX_ENTRIES = 10_000


class KeyCache:
    def __init__(self, clock: Clock, ttl_seconds: float) -> None:
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_seconds)
        self._entries: OrderedDict[str, tuple[Principal, datetime]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self._ttl > timedelta(0)

    def get(self, token_hash: str) -> Principal | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        principal, expires = entry
        if self._clock.now() >= expires:
            del self._entries[token_hash]
            return None
        return principal

    def put(self, token_hash: str, principal: Principal) -> None:
        if not self.enabled:
            return
        self._entries[token_hash] = (principal, self._clock.now() + self._ttl)
        self._entries.move_to_end(token_hash)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)

    def forget_key(self, key_id: str) -> None:
        for token_hash, (principal, _expires) in list(self._entries.items()):
            if principal.key_id == key_id:
                del self._entries[token_hash]
