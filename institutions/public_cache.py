"""What the public sees of the registry (a scan's verification payload, the anonymous whitelist and its search) kept a
few seconds in each process, and scans counted in memory and written in batches.

Why: a poster's QR code and the public whitelist are the registry's busiest and cheapest-to-cache reads (bench/: the
verify endpoint did 6 queries and a write per scan). Public data only, never anything scoped to a signed-in user.

How fresh: a change made through the services clears this process's cache at once (and again after commit); other
processes see it within PUBLIC_CACHE_SECONDS (10 s in production, off in the embedded default). Scan counts reach the
database within SCAN_FLUSH_SECONDS (and at process exit); with 0 they are written by the request itself.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import threading
import time
from collections import Counter
from datetime import date

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.db import transaction

from core import usercache
from core.cache import ProcessTTLCache

logger = logging.getLogger(__name__)
MAX_ENTRIES = 5_000


_cache = ProcessTTLCache(MAX_ENTRIES)


def ttl() -> float:
    return getattr(settings, "PUBLIC_CACHE_SECONDS", 0)


def cached(key: str, compute):
    """compute() once per key and TTL in this process (every time when the cache is off)."""
    seconds = ttl()
    if seconds <= 0:
        return compute()
    # What the public sees depends on the date (a licence expired yesterday reads expired from midnight): an answer
    # kept from before midnight is not served after it.
    from django.utils import timezone

    key = f"{timezone.localdate().isoformat()}|{key}"
    value = _cache.get(key)
    if value is None:
        value = compute()
        if value is not None:
            _cache.put(key, value, seconds)
    return value


# The registry's generation in the shared cache (Redis in production): replaced after every change, so what other
# processes keep of the registry (the console's list) is known stale everywhere at once.
GENERATION_KEY = "institutions:registry:generation"
usercache.share(GENERATION_KEY)  # the console's registry reads it with the signed-in person's counts


def generation():
    return usercache.shared(GENERATION_KEY) or 0


def _changed() -> None:
    _cache.clear()
    try:
        shared_cache.set(GENERATION_KEY, secrets.token_hex(8), timeout=None)
        usercache.shared_changed(GENERATION_KEY)
    except Exception:  # noqa: BLE001 - Redis away: what others keep of the registry lives out its few seconds
        logger.warning("could not publish the registry's new generation", exc_info=True)


def invalidate() -> None:
    """The registry changed: drop this process's public answers now, and everyone's once more after commit."""
    _cache.clear()
    transaction.on_commit(_changed, robust=True)


# --- Scans counted in memory, flushed in batches ---------------------------------------------------------------------


class _ScanBuffer:
    def __init__(self):
        self.counts: Counter[tuple[int, date]] = Counter()
        self.lock = threading.Lock()
        self.pid = None

    def add(self, token_id: int, day: date) -> None:
        self._ensure_flusher()
        with self.lock:
            self.counts[(token_id, day)] += 1

    def take(self) -> Counter:
        with self.lock:
            taken, self.counts = self.counts, Counter()
        return taken

    def _ensure_flusher(self) -> None:
        if self.pid == os.getpid():
            return
        with self.lock:
            if self.pid == os.getpid():
                return
            self.pid = os.getpid()
            self.counts.clear()  # a forked child must not write its parent's counts again
            threading.Thread(target=self._run, name="scan-flush", daemon=True).start()
            atexit.register(flush_scans)

    def _run(self) -> None:
        while self.pid == os.getpid():
            time.sleep(max(getattr(settings, "SCAN_FLUSH_SECONDS", 5), 1))
            try:
                flush_scans()
            except Exception:  # noqa: BLE001 - the counts are put back and written next time
                logger.exception("could not write scan counts")


_scans = _ScanBuffer()


def count_scan(token_id: int, day: date) -> None:
    if getattr(settings, "SCAN_FLUSH_SECONDS", 0) > 0:
        _scans.add(token_id, day)
    else:
        _write_scans(Counter({(token_id, day): 1}))


def flush_scans() -> int:
    counts = _scans.take()
    if not counts:
        return 0
    try:
        _write_scans(counts)
    except Exception:
        with _scans.lock:
            _scans.counts.update(counts)  # keep them for the next try
        raise
    finally:
        from django.db import close_old_connections

        if threading.current_thread().name == "scan-flush":
            close_old_connections()
    return sum(counts.values())


def _write_scans(counts: Counter) -> None:
    from django.db import IntegrityError
    from django.db.models import F

    from .models import ScanCount

    for (token_id, day), n in counts.items():
        rows = ScanCount.objects.filter(token_id=token_id, day=day)
        if rows.update(count=F("count") + n):
            continue
        try:
            with transaction.atomic():
                ScanCount.objects.create(token_id=token_id, day=day, count=n)
        except IntegrityError:  # a first scan raced us to the row
            rows.update(count=F("count") + n)
