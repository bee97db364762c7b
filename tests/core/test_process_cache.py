"""core.cache.ProcessTTLCache: expiry, a default for misses (so None and {} can be kept), one hook that clears all."""

from __future__ import annotations

from unittest import mock

from core.cache import ProcessTTLCache, clear_process_caches

MISSING = object()


def test_values_expire_and_a_miss_gives_the_default():
    cache = ProcessTTLCache(10)
    cache.put("a", None, 60)
    cache.put("b", {}, 60)
    assert cache.get("a", MISSING) is None and cache.get("b") == {} and cache.get("c", MISSING) is MISSING
    with mock.patch("core.cache.time.monotonic", return_value=10**9):
        assert cache.get("b", MISSING) is MISSING


def test_full_cache_starts_again():
    cache = ProcessTTLCache(2)
    cache.put(1, "x", 60)
    cache.put(2, "y", 60)
    cache.put(3, "z", 60)
    assert (cache.get(1), cache.get(3)) == (None, "z")


def test_one_hook_clears_every_process_cache():
    from supervision.complaints import services, sla

    first, second = ProcessTTLCache(5), ProcessTTLCache(5)
    first.put("k", 1, 60)
    second.put("k", 2, 60)
    services._routing.put("table", {(1, 2): 3}, 60)
    sla._policy_cache.put(("key", None), "v", 60)
    clear_process_caches()
    assert first.get("k") is second.get("k") is services._routing.get("table") is None
    assert sla._policy_cache.get(("key", None)) is None
