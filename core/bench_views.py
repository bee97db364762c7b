"""The yardsticks of bench/, served only with BENCH_ENDPOINTS=1 (never in production).

- `bare`: the cheapest Django JSON answer.
- `bare-insert`: one small row inserted in autocommit with a durable commit, then JSON. A write that must reach the
  disk (filing a complaint) cannot beat it, so its goal is a share of this one (DESIGN.md, "Performance").

The table is made by the view itself on first use, with plain SQL: it belongs to the benchmark, not to the schema.
"""

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

BENCH_TABLE = "bench_insert"
_table_ready = False


def bench_bare(request):
    return JsonResponse({"ok": True})


def _ensure_table(cursor) -> None:
    global _table_ready
    if _table_ready:
        return
    key = "BIGSERIAL PRIMARY KEY" if connection.vendor == "postgresql" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {BENCH_TABLE} (id {key}, note VARCHAR(32) NOT NULL)")
    _table_ready = True


@csrf_exempt
def bench_bare_insert(request):
    with connection.cursor() as cursor:  # Django's autocommit: the INSERT is its own durable transaction
        _ensure_table(cursor)
        cursor.execute(f"INSERT INTO {BENCH_TABLE} (note) VALUES (%s)", ["bench"])
    return JsonResponse({"ok": True}, status=201)
