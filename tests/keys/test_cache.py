from __future__ import annotations

from rcsgate.keys.cache import KeyCache
from rcsgate.keys.service import Principal
from rcsgate.kit.clock import FakeClock

PRINCIPAL = Principal(key_id="k1", account_id="a1", rate_limit=30, allowed_networks=())


def test_entry_lives_for_the_ttl_only() -> None:
    clock = FakeClock()
    cache = KeyCache(clock, ttl_seconds=2)
    cache.put("h", PRINCIPAL)

    clock.advance(1.9)
    assert cache.get("h") == PRINCIPAL
    clock.advance(0.1)
    assert cache.get("h") is None


def test_forget_key_drops_every_entry_of_that_key() -> None:
    cache = KeyCache(FakeClock(), ttl_seconds=60)
    cache.put("h", PRINCIPAL)
    cache.put("other", Principal("k2", "a1", 30, ()))

    cache.forget_key("k1")

    assert cache.get("h") is None
    assert cache.get("other") is not None


def test_zero_ttl_disables_caching() -> None:
    cache = KeyCache(FakeClock(), ttl_seconds=0)
    cache.put("h", PRINCIPAL)
    assert cache.get("h") is None


def test_size_is_bounded() -> None:
    import rcsgate.kit.cache as module

    cache = KeyCache(FakeClock(), ttl_seconds=60)
    limit = module.MAX_ENTRIES
    for index in range(limit + 5):
        cache.put(str(index), PRINCIPAL)
    assert cache.get("0") is None
    assert cache.get(str(limit + 4)) == PRINCIPAL
