"""Django's Redis cache, keeping one client object per connection pool.

Django builds a new `redis.Redis` object around the pool on every cache call; that costs about half a millisecond of
CPU per call (measured in bench/: most of an authenticated API request's cache read). The client is thread-safe and
holds no state of its own beyond the pool, so one per pool serves every call.
"""

import threading
import time
import weakref

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient


_process_caches: weakref.WeakSet = weakref.WeakSet()


def clear_process_caches() -> None:
    """Empty every ProcessTTLCache of this process (tests: a flush or a rollback makes the ids they hold stale)."""
    for process_cache in list(_process_caches):
        process_cache.clear()


class ProcessTTLCache:
    """A small cache in this process's memory: entries expire after their TTL, and the whole cache is dropped when it
    reaches `max_entries` (simple, and the busy keys come back at once). For answers worth a few seconds of reuse
    where even a Redis round trip costs too much (the public registry, handlers' complaint lists)."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self.entries: dict = {}
        self.lock = threading.Lock()
        _process_caches.add(self)

    def get(self, key, default=None):
        """The value kept for `key`, or `default` when there is none or it has expired."""
        hit = self.entries.get(key)
        if hit is None or hit[0] < time.monotonic():
            return default
        return hit[1]

    def put(self, key, value, ttl: float) -> None:
        with self.lock:
            if len(self.entries) >= self.max_entries:
                self.entries.clear()
            self.entries[key] = (time.monotonic() + ttl, value)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
