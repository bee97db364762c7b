"""Outside-personnel admission at scale (`.venv/bin/python bench/scenarios/admission.py`), and the public list of
admitted third parties under load (`make bench BENCH_ARGS="--only admission"`).

Timings, against PostgreSQL (or whatever `bench.run.bench_environment` picks):
- the prohibited-persons register is seeded to 1,000,000 entries (COPY on PostgreSQL, bulk_create in batches of
  5,000 elsewhere; idempotent: only the missing serials are added), then one application is matched against it
  (exact keyed hash + name/birth-date warning): the query count and the time;
- 5,000 admitted people at a bench school (a few of them on the register), and the re-check a register import
  triggers: the task itself (afterschool.recheck_admitted, applied in-process), inside a transaction that is rolled
  back so it can be repeated.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project's packages first
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.run import Endpoint  # noqa: E402

REGISTER_SIZE = 1_000_000
ADMITTED = 5_000
HITS = 5  # admitted people who are also on the register
SOURCE = "bench"
SCHOOL_NAME = "涪陵区压测准入学校"
TOWN = "500102008"

ENDPOINTS = [
    Endpoint(
        "GET afterschool admitted third parties (public)",
        "/api/v1/afterschool/admitted-third-parties?page_size=50",
        {},
        goal=0.2,
    ),
]


def _hash(serial: int) -> str:
    # A fixed key, not the run's PII_HASH_KEY: the seeded register and people must match from one run to the next.
    import hashlib
    import hmac

    return hmac.new(b"bench-register", f"ric:BENCH{serial:013d}".encode(), hashlib.sha256).hexdigest()


def seed_register(size: int = REGISTER_SIZE) -> dict:
    from datetime import date, timedelta

    from django.db import connection

    from afterschool.admission.models import ProhibitedPerson

    have = ProhibitedPerson.objects.filter(source=SOURCE).count()
    started = time.perf_counter()
    if have < size:
        names = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高"
        base = date(1960, 1, 1)
        rows = (
            (_hash(i), f"{i % 10000:04d}", f"{names[i % 20]}某{i % 97}", base + timedelta(days=i % 15000), SOURCE)
            for i in range(have, size)
        )
        if connection.vendor == "postgresql":
            table = ProhibitedPerson._meta.db_table
            with connection.cursor() as cursor:
                copy_sql = (
                    f"COPY {table} (id_hash, id_last4, name, birth_date, source, listed_on, created_at) FROM STDIN"
                )
                with cursor.connection.cursor().copy(copy_sql) as copy:
                    for h, last4, name, born, source in rows:
                        copy.write_row((h, last4, name, born, source, date(2025, 1, 1), "2025-01-01T00:00:00+08:00"))
                cursor.execute(f"ANALYZE {table}")
        else:
            batch = []
            for h, last4, name, born, source in rows:
                batch.append(
                    ProhibitedPerson(
                        id_hash=h, id_last4=last4, name=name, birth_date=born, source=source, listed_on=date(2025, 1, 1)
                    )
                )
                if len(batch) == 5000:
                    ProhibitedPerson.objects.bulk_create(batch)
                    batch = []
            ProhibitedPerson.objects.bulk_create(batch)
    return {"register_entries": size, "added": max(0, size - have), "seconds": round(time.perf_counter() - started, 1)}


def seed_admitted(n: int = ADMITTED) -> dict:
    from datetime import date, timedelta

    from django.db import transaction

    from accounts.models import Region, User
    from afterschool.admission.models import Admission, OutsidePerson
    from afterschool.schedule.models import School

    town = Region.objects.filter(code=TOWN, valid_to__isnull=True).first()
    school, _ = School.objects.get_or_create(name=SCHOOL_NAME, defaults={"town": town})
    applicant = User.objects.filter(username="bench_adm_applicant").first() or User.objects.create_user(
        username="bench_adm_applicant", name="压测申请人", password=None
    )
    have = Admission.objects.filter(school=school, status="admitted").count()
    started = time.perf_counter()
    with transaction.atomic():
        # Serials 0..HITS-1 of the register are admitted people too: the re-check must find exactly those.
        people = OutsidePerson.objects.bulk_create(
            [
                OutsidePerson(
                    name=f"压测人员{i}",
                    id_hash=_hash(i) if i < HITS else _hash(10_000_000 + i),
                    id_last4=f"{i % 10000:04d}",
                    birth_date=date(1990, 1, 1),
                )
                for i in range(have, n)
            ],
            batch_size=2000,
        )
        today = date.today()
        Admission.objects.bulk_create(
            [
                Admission(
                    person=p,
                    applicant=applicant,
                    school=school,
                    status="admitted",
                    valid_from=today,
                    valid_until=today + timedelta(days=364),
                )
                for p in people
            ],
            batch_size=2000,
        )
    return {"admitted": n, "added": max(0, n - have), "seconds": round(time.perf_counter() - started, 1)}


def timings() -> dict:
    from datetime import date

    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from afterschool.admission.models import ProhibitedPerson
    from afterschool.admission.register import register_match
    from afterschool.admission.tasks import recheck_admitted

    out = {"database": connection.vendor, "register": seed_register(), "people": seed_admitted()}
    samples = []
    for serial in (17, 123_456, 999_999):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as ctx:
            hits, warnings = register_match(id_hash=_hash(serial), name="王某1", birth_date=date(1960, 1, 2))
        samples.append({"ms": round((time.perf_counter() - started) * 1000, 2), "queries": len(ctx), "hits": len(hits)})
    out["match_one_application"] = samples
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            sql, params = ProhibitedPerson.objects.filter(id_hash=_hash(17)).query.sql_with_params()
            cursor.execute("EXPLAIN " + sql, params)
            out["match_plan"] = [row[0] for row in cursor.fetchall()][:3]
    started = time.perf_counter()
    with transaction.atomic():
        with CaptureQueriesContext(connection) as ctx:
            # The task a register import schedules, run here in-process (apply) so its time is the work itself.
            result = recheck_admitted.apply(throw=True).get()
        out["recheck_5000"] = {
            **result,
            "seconds": round(time.perf_counter() - started, 2),
            "queries": len(ctx),
        }
        transaction.set_rollback(True)  # repeatable: the hits stay admitted for the next run
    return out


def setup() -> dict[str, str]:
    return {}


if __name__ == "__main__":
    from bench.run import timing_script

    sys.exit(timing_script(__file__, timings, label="admission"))
