"""One race helper for the concurrency tests (production lane: real concurrent transactions need PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from django.db import connections


def race(fns: Callable | Sequence[Callable], n: int = 4, *, timeout: float = 60) -> list:
    """Run the callables in threads released together; return what each returned or raised, in order.

    `race([f, g])` runs f and g once each; `race(f, n=3)` runs f three times. Each thread closes its database
    connections when done, so the test database can be flushed afterwards.
    """
    calls = list(fns) if isinstance(fns, Sequence) else [fns] * n
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = calls[i]()
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results
