"""HTTP benchmark: gunicorn on loopback, measured with wrk, each endpoint compared with a bare Django view.

Run with `make bench` (or `.venv/bin/python bench/run.py --help`). Not part of the test suite.

Absolute requests/s depend on the machine; the ratio to `/bench/bare` (the cheapest Django JSON answer, measured
in the same run, through the same middleware, server and client) is what the goals are written against. Writes that
must reach the disk are held to a share of `/bench/bare-insert` (one small row, autocommit, durable commit): the
`/ins` column, and goals marked `/ins`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
PYTHON = sys.executable

BENCH_DB_NAME = "shuangjian_bench"
LOCAL_PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/2"  # db 2: the test lanes use 1, so a bench run never mixes with them

BENCH_USERNAME = "bench_inspector"
BENCH_REGION_CODE = "500102006"  # 敦仁街道, as in tests/conftest.py

# Every request carries what nginx adds in production: with DEBUG off, SECURE_SSL_REDIRECT answers plain-HTTP
# requests with a 301, which wrk does not count as an error ("Non-2xx or 3xx") and which would be far cheaper.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
# Placeholders in an endpoint's path and headers, replaced once the setup step has made what they stand for.
TOKEN = "{token}"  # the bench user's access token
VERIFY_TOKEN = "{verify_token}"  # the live QR token of the showcase institution (see seed_registry)


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    goal: float | None = None  # minimum requests/s as a fraction of the bare view's, or None: measured only
    registry: bool = False  # needs the seeded registry: skipped with --institutions 0
    method: str = "GET"
    body: str | None = None  # JSON text, sent with Content-Type: application/json
    # Headers whose value wrk makes unique per request (e.g. Idempotency-Key: every POST is a new one).
    unique_headers: tuple[str, ...] = ()
    group: str = "core"  # what --only selects by: core, registry, or a scenario module's name
    # What `goal` is a fraction of: the bare view, or `bare-insert` for writes that must reach the disk.
    yardstick: str = "bare"
    # A goal taken from other rows of the same run instead of a fixed number: a page showing what those API calls
    # give must serve at least as fast as a client making them all, 1 / Σ (1 / ratioᵢ). Noise moves both alike.
    goal_from: tuple[str, ...] = ()


# To benchmark another endpoint, add it here. The first entry is the yardstick the others are divided by.
ENDPOINTS = [
    Endpoint("bare", "/bench/bare"),
    # The second yardstick: one small row inserted with a durable commit (core/bench_views.py).
    Endpoint("bare-insert", "/bench/bare-insert", method="POST", body="{}"),
    Endpoint("healthz", "/healthz"),
    Endpoint("GET /api/v1/me", "/api/v1/me", {"Authorization": f"Bearer {TOKEN}"}, goal=0.6),
    # The registry (seeded: --institutions, 20,000 by default), as the public calls it: no Authorization header.
    Endpoint("verify/<token>", f"/api/v1/verify/{VERIFY_TOKEN}", goal=0.6, registry=True, group="registry"),
    Endpoint("institutions 50", "/api/v1/institutions?page_size=50", goal=0.3, registry=True, group="registry"),
    # Text search: a Chinese substring in ~5 % of names, and pinyin initials (新东方 → xdf, ~1 %).
    Endpoint(
        "institutions q=美术", f"/api/v1/institutions?q={quote('美术')}", goal=0.2, registry=True, group="registry"
    ),
    Endpoint("institutions q=xdf", "/api/v1/institutions?q=xdf", goal=0.2, registry=True, group="registry"),
]
# More endpoints come from bench/scenarios/<name>.py: each module has ENDPOINTS (a list of Endpoint) and setup(),
# which runs inside Django in the bench environment, makes what its endpoints need (idempotently) and returns
# {placeholder: value}; "{placeholder}" in an endpoint's path, headers or body is replaced by the value. A scenario
# module must not import Django at its top: the measuring process does not set Django up.
SCENARIOS_DIR = ROOT / "bench" / "scenarios"


def scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIOS_DIR.glob("*.py") if not p.stem.startswith("_"))


def load_scenario(name: str):
    import importlib

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(f"bench.scenarios.{name}")


def scenario_endpoints(names: list[str]) -> list[Endpoint]:
    from dataclasses import replace

    return [replace(e, group=name) for name in names for e in load_scenario(name).ENDPOINTS]


# --- Small helpers ------------------------------------------------------------------------------------------------


def say(message: str) -> None:
    print(message, flush=True)


class BenchError(Exception):
    """A problem that stops the run; its message is meant for the person running it."""


def masked(url: str) -> str:
    """A database/cache URL without its password, fit to print and to store in the results."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def local_postgres_database() -> str | None:
    """postgres://…/shuangjian_bench on the local server (created if needed), or None when it does not answer."""
    try:
        import psycopg
    except ImportError:
        return None
    try:
        with psycopg.connect(LOCAL_PG_ADMIN_URL, connect_timeout=2, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB_NAME]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{BENCH_DB_NAME}"')
    except psycopg.Error:
        return None
    return urlunsplit(urlsplit(LOCAL_PG_ADMIN_URL)._replace(path=f"/{BENCH_DB_NAME}"))


def git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{rev}{'-dirty' if dirty else ''}" if rev else "unknown"


# --- Environment: database, cache, settings -----------------------------------------------------------------------


def bench_environment(tmpdir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The environment gunicorn and the setup steps run with, and a description of the backing services."""
    env = dict(os.environ)
    described = {}

    database_url = os.environ.get("DATABASE_URL")
    if database_url:
        described["database"] = f"{masked(database_url)} (from DATABASE_URL)"
    else:
        database_url = local_postgres_database()
        if database_url:
            described["database"] = f"{database_url} (local PostgreSQL)"
        else:
            sqlite_path = tmpdir / "bench.sqlite3"
            env["SQLITE_PATH"] = str(sqlite_path)
            described["database"] = f"SQLite {sqlite_path} (temporary; PostgreSQL did not answer on 127.0.0.1:5432)"
    if database_url:
        env["DATABASE_URL"] = database_url

    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        described["cache"] = f"{masked(redis_url)} (from REDIS_URL)"
    elif redis_answers(LOCAL_REDIS_URL):
        redis_url = LOCAL_REDIS_URL
        described["cache"] = f"{redis_url} (local Redis)"
    else:
        described["cache"] = "local memory (Redis did not answer on 127.0.0.1:6379)"
    if redis_url:
        env["REDIS_URL"] = redis_url

    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="0",
        SECRET_KEY="bench-" + secrets.token_urlsafe(48),
        ALLOWED_HOSTS="127.0.0.1",
        BENCH_ENDPOINTS="1",
        LOG_LEVEL="WARNING",
        ACCESS_TOKEN_TTL_MINUTES="600",  # outlives any run, so the token never expires mid-measurement
        PYTHONUNBUFFERED="1",
    )
    return env, described


def timing_script(script: str, timing, *, label: str, env_extra=None) -> int:
    """`python bench/scenarios/<name>.py`: run `timing()` (a function returning a dict of figures) inside Django
    against the bench database, migrated first, and print its figures as JSON. `env_extra(tmpdir)` adds settings
    (e.g. a media folder). Returns the exit code."""
    if "--inside" in sys.argv:
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        print(json.dumps(timing(), ensure_ascii=False, indent=2, default=str))
        return 0
    with tempfile.TemporaryDirectory(prefix=f"shuangjian-{label}-") as tmp:
        env, services = bench_environment(Path(tmp))
        env.update(env_extra(Path(tmp)) if env_extra else {})
        for name, value in services.items():
            say(f"{name}: {value}")
        migrate = [PYTHON, "manage.py", "migrate", "--noinput"]
        subprocess.run(migrate, cwd=ROOT, env=env, check=True, capture_output=True)
        return subprocess.run([PYTHON, script, "--inside"], cwd=ROOT, env=env).returncode


# --- Setup: the bench user, the registry ------------------------------------------------------------------------
#
# The setup runs in a subprocess with the bench environment (`run.py --setup …`), so it touches exactly the database
# gunicorn will serve from; the functions below import Django only there.

# Bench institutions are marked with this in `found_via`: seeding counts them and adds only what is missing.
BENCH_MARK = "bench"
# Their credit codes: this prefix, a 7-digit serial, the check digit (the demo registry uses …MJ, so none collide).
BENCH_CREDIT_PREFIX = "52500102MB"
SEED_BATCH = 2000

# Names: 涪陵区 + brand + kind + campus, e.g. 涪陵区七彩虹美术培训学校（李渡校区）. 100 brands × 20 kinds × 28
# campuses: mostly distinct names, and "美术" in about 1 name in 20 (one kind of 20), 新东方 (xdf) in 1 in 100.
BRANDS = (
    "小画家 跃动 启明 七彩虹 书香 墨韵 星火 乐之声 飞扬 博雅 童心 青苗 鸿鹄 晨曦 智慧树 金话筒 翰林 未来星 长江 白鹤 "
    "乌江 彩虹桥 新东方 棋苑 水木 阳光 育才 英才 小树苗 蒲公英 向日葵 小海豚 北极星 蓝天 白云 绿洲 红枫 金色童年 "
    "梦想家 小天鹅 百灵鸟 知音 艺苑 丹青 雅韵 琴韵 悦动 勇者 冠军 少年派 聪明屋 思维树 乐学 博学 明德 至善 致远 "
    "立人 弘毅 启航 远航 扬帆 乘风 展翅 雏鹰 小飞侠 星空 银河 宇航 探索者 发现 创客 智造 机器人部落 编程猫头鹰 "
    "墨香 竹韵 兰亭 松风 荷塘 榕树下 小橘灯 萤火虫 七色花 小苹果 大拇指 乐高 积木 魔方 围棋道场 黑白 楚河 "
    "涪州 榨菜之乡 江城 山城 巴渝 白鹤梁 点易 红岩"
).split()
KINDS = (  # (kind, category); one kind in 20 says 美术
    ("美术培训学校", "arts"), ("音乐艺术中心", "arts"), ("舞蹈培训学校", "arts"), ("书法培训中心", "arts"),
    ("钢琴艺术学校", "arts"), ("声乐表演中心", "arts"), ("体育培训中心", "sports"), ("游泳培训中心", "sports"),
    ("跆拳道馆", "sports"), ("篮球训练营", "sports"), ("足球俱乐部", "sports"), ("武术培训学校", "sports"),
    ("科技培训学校", "science"), ("编程培训中心", "science"), ("机器人培训中心", "science"),
    ("口才培训中心", "other"), ("围棋培训中心", "other"), ("研学实践中心", "other"),
    ("学科培训学校", "subject"), ("文化培训学校", "subject"),
)  # fmt: skip
STATUS_WEIGHTS = (  # about 80 % licensed, as in a mature registry
    ("licensed", 80), ("rectifying", 5), ("applied", 4), ("expired", 3), ("suspended", 2), ("revoked", 2),
    ("closed", 2), ("unlicensed", 2),
)  # fmt: skip
ROADS = ("兴华中路", "太极大道", "滨江大道", "人民东路", "中山路", "广场路", "黎明路", "顺江大道", "乌江大道")
COURSES = (  # the showcase institution's courses: (name, minutes, packages as (name, hours, months, price))
    ("少儿美术", 90, (("体验课", 4, 1, "0.00"), ("季度班", 36, 3, "2880.00"))),
    ("素描基础", 90, (("体验课", 4, 1, "0.00"), ("季度班", 36, 3, "3200.00"), ("暑期班", 20, 2, "1600.00"))),
    ("国画", 60, (("季度班", 24, 3, "2400.00"), ("半年班", 48, 6, "4500.00"))),
)
TEACHERS = ("王芳", "李静", "张伟", "陈丽")


def bench_credit_code(serial: int) -> str:
    from stdnum.cn import uscc

    body = f"{BENCH_CREDIT_PREFIX}{serial:07d}"
    return body + uscc.calc_check_digit(body)


def setup_user() -> str:
    """The bench user with an inspector membership, signed in afresh: returns its access token."""
    from accounts.models import AuthSession, Membership, Region, Role, User
    from accounts.services import auth_login

    region = Region.objects.get(code=BENCH_REGION_CODE, valid_to__isnull=True)
    user = User.objects.filter(username=BENCH_USERNAME).first()
    if user is None:
        user = User.objects.create_user(username=BENCH_USERNAME, name="压测督查员 bench inspector")
    password = secrets.token_urlsafe(24)
    user.is_active = True
    user.set_password(password)
    user.save()
    Membership.objects.get_or_create(user=user, role=Role.INSPECTOR, region=region, defaults={"is_active": True})
    Membership.objects.filter(user=user).update(is_active=True)
    # Earlier runs' sessions (and their access tokens) go, so the token table does not grow run after run.
    AuthSession.objects.filter(user=user).delete()
    return auth_login(identifier=user.username, password=password, device="bench").access_token


def _bench_institution(serial: int, rng, towns: list, initials: dict, today):
    """One bench institution (unsaved), its fields drawn from `rng`. Serial 0 is the showcase: licensed, arts."""
    from datetime import timedelta
    from decimal import Decimal

    from institutions.models import Institution
    from institutions.search import initials_of

    def initials_for(part: str) -> str:  # pypinyin takes ~0.25 ms a name: per distinct part, it is done in no time
        if part not in initials:
            initials[part] = initials_of(part)
        return initials[part]

    town = towns[serial % len(towns)] if serial else towns[0]
    brand = BRANDS[rng.randrange(len(BRANDS))]
    kind, category = KINDS[0] if serial == 0 else KINDS[rng.randrange(len(KINDS))]
    status = "licensed" if serial == 0 else rng.choices(*zip(*STATUS_WEIGHTS, strict=True))[0]
    campus = "" if rng.random() < 0.3 else f"（{town.name[:2]}校区）"
    parts = ["涪陵区", brand, kind, campus]
    unlicensed = status == "unlicensed"
    if unlicensed:  # as they are found: a street name and what they do, no licence (a business credit code, though)
        parts = [town.name, brand, "托管辅导班"]
        category = "other"
    issued = today - timedelta(days=rng.randrange(30, 3 * 365 - 30))
    expires = issued + timedelta(days=3 * 365)
    if status == "expired":
        issued, expires = issued - timedelta(days=3 * 365), issued - timedelta(days=1)
    return Institution(
        name="".join(parts),
        name_initials="".join(initials_for(p) for p in parts)[:200],
        credit_code=bench_credit_code(serial),
        licence_number="" if unlicensed else f"教民1500102{serial:07d}号",
        licence_issued_on=None if unlicensed else issued,
        licence_expires_on=None if unlicensed else expires,
        category=category,
        mode="both" if category == "science" and rng.random() < 0.5 else "offline",
        legal_representative="" if unlicensed else rng.choice(TEACHERS),
        contact_phone=f"023-72{rng.randrange(100000, 999999)}",
        address=f"涪陵区{town.name}{rng.choice(ROADS)}{rng.randrange(1, 400)}号",
        town=town,
        latitude=Decimal(f"{29.70 + rng.uniform(-0.15, 0.15):.6f}"),
        longitude=Decimal(f"{107.39 + rng.uniform(-0.25, 0.25):.6f}"),
        floor_area_m2=Decimal(rng.choice((120, 200, 260, 350, 500))),
        max_students_present=rng.choice((30, 50, 80, 120)),
        status=status,
        found_via=BENCH_MARK,
    )


def seed_registry(count: int) -> dict:
    """At least `count` bench institutions, each with a live verification token, made with bulk_create in batches
    (not through the services, which audit and schedule a poster per row). Idempotent: counts the rows marked
    found_via="bench" and adds what is missing. Then the showcase institution's courses, teachers and escrow."""
    import random

    from django.db import connection, transaction
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from accounts.models import Region
    from institutions.models import Institution, VerificationToken

    started = time.perf_counter()
    bench_rows = Institution.objects.filter(found_via=BENCH_MARK)
    existing = bench_rows.count()
    towns = list(Region.objects.filter(parent__isnull=False, valid_to__isnull=True).order_by("code"))
    if not towns:
        raise BenchError("no towns (Region rows with a parent) in the database: did the migrations run?")
    taken = set(bench_rows.values_list("credit_code", flat=True))
    initials: dict[str, str] = {}
    today = timezone.localdate()
    # Serial 0, the showcase, comes first: made even when the count is already there without it.
    missing, serial, added = max(count - existing, 0 if bench_credit_code(0) in taken else 1), 0, 0
    while added < missing:
        batch = []
        while len(batch) < min(SEED_BATCH, missing - added):
            if bench_credit_code(serial) not in taken:
                rng = random.Random(serial)  # a serial's row is the same whichever run makes it
                batch.append(_bench_institution(serial, rng, towns, initials, today))
            serial += 1
        with transaction.atomic():
            made = Institution.objects.bulk_create(batch)
            VerificationToken.objects.bulk_create([VerificationToken(institution=i) for i in made])
        added += len(made)
    # A row without a live token (a token rotated by hand, an interrupted older seeding) gets one.
    live = VerificationToken.objects.filter(institution=OuterRef("pk"), revoked_at__isnull=True)
    tokenless = list(bench_rows.filter(~Exists(live)).values_list("pk", flat=True))
    VerificationToken.objects.bulk_create([VerificationToken(institution_id=pk) for pk in tokenless], batch_size=1000)
    showcase = _seed_showcase()
    if (added or tokenless) and connection.vendor == "postgresql":
        # What autovacuum would have done by the time such a registry serves traffic: planner statistics, and the
        # visibility map that index-only scans need.
        with connection.cursor() as cursor:
            for table in (Institution._meta.db_table, VerificationToken._meta.db_table):
                cursor.execute(f'VACUUM ANALYZE "{table}"')
    return {
        "institutions": existing + added,
        "added": added,
        "tokens_added": len(tokenless),
        "seconds": round(time.perf_counter() - started, 2),
        "verify_token": showcase,
    }


def _seed_showcase() -> str:
    """The verify endpoint's institution (bench serial 0, licensed): 3 courses with 2-3 packages each, 4 teachers,
    an escrow account, made once. Returns its live token."""
    import hashlib
    from datetime import date
    from decimal import Decimal

    from django.db import transaction

    from institutions.models import Course, EscrowAccount, FeePackage, Institution, StaffMember, VerificationToken

    inst = Institution.objects.get(credit_code=bench_credit_code(0))
    with transaction.atomic():
        if not inst.courses.exists():
            for name, minutes, packages in COURSES:
                course = Course.objects.create(
                    institution=inst, name=name, subject="美术", category="arts", mode="offline", min_age=5,
                    max_age=15, grade_range="小学至初中", class_minutes=minutes,
                )  # fmt: skip
                FeePackage.objects.bulk_create(
                    FeePackage(course=course, name=p, hours=h, months=m, price=Decimal(price))
                    for p, h, m, price in packages
                )
        if not inst.staff.exists():
            StaffMember.objects.bulk_create(
                StaffMember(
                    institution=inst,
                    name=name,
                    id_number_hash=hashlib.sha256(f"bench-{i}".encode()).hexdigest(),
                    id_number_last4=f"{1234 + 1111 * i:04d}"[-4:],
                    role="teacher",
                    teacher_certificate_no=f"2021500{3141592650 + i}",
                    precheck_date=date(2025, 9, 1),
                    precheck_result="passed",
                )
                for i, name in enumerate(TEACHERS)
            )
        EscrowAccount.objects.get_or_create(
            institution=inst,
            defaults={
                "bank": "中国工商银行涪陵分行", "account_number": "3100012345678901234",
                "agreement_number": "FLJG-BENCH-001", "balance": Decimal("86000.00"),
                "balance_reported_on": date(2026, 10, 31),
            },
        )  # fmt: skip
    token = VerificationToken.objects.filter(institution=inst, revoked_at__isnull=True).first()
    return (token or VerificationToken.objects.create(institution=inst)).token


def setup_step(institutions: int, scenarios: list[str]) -> None:
    """In the subprocess: Django, the bench user, the registry, the scenarios' data; one JSON line on stdout."""
    sys.path.insert(0, str(ROOT))  # the project's packages; this file's own folder is what Python put first
    import django

    django.setup()
    out = {"token": setup_user(), "registry": seed_registry(institutions) if institutions else None, "scenarios": {}}
    for name in scenarios:
        started = time.perf_counter()
        values = load_scenario(name).setup()
        out["scenarios"][name] = {"values": values, "seconds": round(time.perf_counter() - started, 2)}
    print("BENCH_SETUP=" + json.dumps(out, ensure_ascii=False), flush=True)


def prepare_database(env: dict[str, str], institutions: int, scenarios: list[str]) -> dict:
    """Migrates, makes the bench user (inspector) and at least `institutions` registry rows; returns the bench
    user's fresh access token and what the seeding did."""
    say("Migrating …")
    migrate = subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    if migrate.returncode != 0:
        raise BenchError(f"manage.py migrate failed:\n{migrate.stdout}\n{migrate.stderr}")
    if institutions:
        say(f"Seeding: at least {institutions} bench institutions …")
    command = [PYTHON, str(Path(__file__).resolve()), "--setup", "--institutions", str(institutions)]
    command += ["--only", ",".join(["core", *(["registry"] if institutions else []), *scenarios])]
    setup = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    for line in setup.stdout.splitlines():
        if line.startswith("BENCH_SETUP="):
            done = json.loads(line.removeprefix("BENCH_SETUP="))
            if registry := done["registry"]:
                say(
                    f"Registry: {registry['institutions']} bench institutions ({registry['added']} added, "
                    f"{registry['tokens_added']} tokens added) in {registry['seconds']:.1f} s; "
                    f"verify token {registry['verify_token']}"
                )
            for name, made in done["scenarios"].items():
                say(f"Scenario {name}: set up in {made['seconds']:.1f} s")
            return done
    raise BenchError(f"could not seed the database or sign the bench user in:\n{setup.stdout}\n{setup.stderr}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer to report, not to follow


# Straight to 127.0.0.1: no proxy from the environment (http_proxy), no redirects followed.
LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def filled(text: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def request_headers(endpoint: Endpoint, values: dict[str, str]) -> dict[str, str]:
    return {**PROXY_HEADERS, **{name: filled(value, values) for name, value in endpoint.headers.items()}}


def endpoint_url(base_url: str, endpoint: Endpoint, values: dict[str, str]) -> str:
    return base_url + filled(endpoint.path, values)


# --- gunicorn -----------------------------------------------------------------------------------------------------


class Server:
    """gunicorn as production runs it (sync workers), on 127.0.0.1; stopped by `stop()` whatever happened."""

    def __init__(self, env: dict[str, str], port: int, workers: int, log_path: Path):
        self.env, self.port, self.workers, self.log_path = env, port, workers, log_path
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        command = [
            PYTHON, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers),
            "--worker-class", "sync",
            "--log-level", "warning",
            "--error-logfile", str(self.log_path),
        ]  # fmt: skip
        # Its own session: Ctrl-C in the terminal reaches this script, which then stops gunicorn in order.
        self.proc = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"gunicorn exited with {self.proc.returncode}")
            try:
                # /healthz is exempt from the HTTPS redirect, so it answers 200 as soon as a worker is up.
                with LOOPBACK.open(f"{self.base_url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise BenchError(f"gunicorn did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()  # SIGTERM to the master: graceful shutdown of its workers
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            # The group is gunicorn's own (start_new_session), so this reaches only its master and workers.
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def request_body(endpoint: Endpoint, values: dict[str, str]) -> str | None:
    return filled(endpoint.body, values) if endpoint.body is not None else None


def check_endpoint(url: str, endpoint: Endpoint, headers: dict[str, str], body: str | None = None) -> None:
    """One request before wrk: a wrong status (401, a 301 redirect, 404) stops the run with a clear message."""
    headers = {**headers, **{name: "bench-check-" + secrets.token_hex(8) for name in endpoint.unique_headers}}
    data = None
    if body is not None:
        data = body.encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method=endpoint.method)
    try:
        with LOOPBACK.open(request, timeout=10) as response:
            status, body = response.status, response.read(300)
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read(300)
    if not 200 <= status < 300:
        text = body.decode(errors="replace")
        raise BenchError(f"{endpoint.name} ({endpoint.path}) answered {status}, not 2xx: {text}")


# --- wrk ----------------------------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("wrk is missing: installing the Debian package …")
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "timeout": 600}
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, **quiet).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, **quiet)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, **quiet)
        found = shutil.which("wrk")
        if found:
            return found
    raise BenchError("wrk is not installed. Install it (Debian/Ubuntu: `sudo apt-get install wrk`) and run again.")


UNIT_TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
LATENCY_LINE = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)


def parse_wrk(output: str) -> dict:
    """Requests/s, p50/p99 in ms, request and error counts from `wrk --latency` output."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in ", output, re.MULTILINE)
    if not rps or not total:
        raise BenchError(f"could not read wrk's output:\n{output}")
    latency = {int(p): float(v) * UNIT_TO_MS[unit] for p, v, unit in LATENCY_LINE.findall(output)}
    if 50 not in latency or 99 not in latency:
        raise BenchError(f"wrk's output has no latency distribution (was --latency given?):\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "requests_per_s": float(rps.group(1)),
        "requests": int(total.group(1)),
        "p50_ms": latency[50],
        "p99_ms": latency[99],
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": (
            dict(zip(("connect", "read", "write", "timeout"), map(int, socket_errors.groups()), strict=True))
            if socket_errors
            else {}
        ),
    }


def lua_string(text: str) -> str:
    """A Lua string literal: safe ASCII as is, every other byte (quotes, UTF-8 of Chinese text) as \\ddd."""
    safe = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.,:/{}[]=+*@#")
    return '"' + "".join(chr(b) if b in safe else f"\\{b:03d}" for b in text.encode()) + '"'


def wrk_script(endpoint: Endpoint, body: str | None, directory: Path) -> Path | None:
    """A Lua script for what plain wrk cannot say: another method, a body, a header unique per request."""
    if endpoint.method == "GET" and body is None and not endpoint.unique_headers:
        return None
    run = secrets.token_hex(6)  # keys of this run never meet an earlier run's
    lines = [f"wrk.method = {lua_string(endpoint.method)}"]
    if body is not None:
        lines += [f"wrk.body = {lua_string(body)}", 'wrk.headers["Content-Type"] = "application/json"']
    lines += [
        "local threads = 0",
        'function setup(thread) threads = threads + 1; thread:set("tid", threads) end',
        "local n = 0",
        "function request()",
        "  n = n + 1",
        "  local h = {}",
        "  for k, v in pairs(wrk.headers) do h[k] = v end",
        *(f'  h[{lua_string(name)}] = "{run}-" .. tostring(tid) .. "-" .. n' for name in endpoint.unique_headers),
        "  return wrk.format(nil, nil, h, nil)",
        "end",
    ]
    path = directory / f"wrk-{secrets.token_hex(4)}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_wrk(
    wrk: str, url: str, headers: dict[str, str], seconds: int, args: argparse.Namespace, script: Path | None = None
) -> dict:
    command = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    # The margin covers wrk's start and the last requests it waits for; beyond it, something hangs.
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return parse_wrk(done.stdout)


# --- Measuring and reporting --------------------------------------------------------------------------------------


def measure(
    wrk: str,
    base_url: str,
    endpoints: list[Endpoint],
    values: dict[str, str],
    args: argparse.Namespace,
    tmpdir: Path,
) -> dict[str, list[dict]]:
    """Every endpoint, in order, `rounds` times; bare and the others alternate so slow drifts hit all alike."""
    runs: dict[str, list[dict]] = {e.name: [] for e in endpoints}
    for round_no in range(1, args.rounds + 1):
        for endpoint in endpoints:
            headers, url = request_headers(endpoint, values), endpoint_url(base_url, endpoint, values)
            script = wrk_script(endpoint, request_body(endpoint, values), tmpdir)
            say(f"  round {round_no}/{args.rounds}: {endpoint.name} (warm-up {args.warmup} s, {args.duration} s) …")
            if args.warmup > 0:
                run_wrk(wrk, url, headers, args.warmup, args, script)  # fills connection pools, caches, imports
            runs[endpoint.name].append(run_wrk(wrk, url, headers, args.duration, args, script))
    return runs


def combined_goal(endpoint: Endpoint, ratios: dict[str, float | None]) -> float | None:
    """The endpoint's goal: its fixed one, or what the rows of `goal_from` reach together (None if one is missing)."""
    if not endpoint.goal_from:
        return endpoint.goal
    found = [ratios.get(name) for name in endpoint.goal_from]
    if any(r is None or r <= 0 for r in found):
        return None
    return 1 / sum(1 / r for r in found)


def summarise(runs: dict[str, list[dict]], endpoints: list[Endpoint]) -> list[dict]:
    def ratio_to(measured: list[dict], yardstick: str) -> float | None:
        if yardstick not in runs:
            return None
        # The ratio is taken per round (against the yardstick measured moments before), then the median.
        pairs = zip(measured, runs[yardstick], strict=True)
        return statistics.median(m["requests_per_s"] / y["requests_per_s"] for m, y in pairs)

    ratios = {e.name: ratio_to(runs[e.name], endpoints[0].name) for e in endpoints}
    rows = []
    for endpoint in endpoints:
        measured = runs[endpoint.name]
        errors = sum(m["non_2xx"] for m in measured) + sum(sum(m["socket_errors"].values()) for m in measured)
        ratio = ratios[endpoint.name]
        ratio_insert = ratio_to(measured, "bare-insert")
        goal_ratio = ratio_insert if endpoint.yardstick == "bare-insert" else ratio
        goal = combined_goal(endpoint, ratios)
        if errors:
            verdict = "ERROR"  # answers that were not 2xx, or broken connections: the figures mean nothing
        elif goal is None or goal_ratio is None:
            verdict = ""
        else:
            verdict = "PASS" if goal_ratio >= goal else "FAIL"
        rows.append(
            {
                "endpoint": endpoint.name,
                "path": endpoint.path,
                "requests_per_s": statistics.median(m["requests_per_s"] for m in measured),
                "p50_ms": statistics.median(m["p50_ms"] for m in measured),
                "p99_ms": statistics.median(m["p99_ms"] for m in measured),
                "ratio": ratio,
                "ratio_insert": ratio_insert,
                "goal": goal,
                "goal_from": list(endpoint.goal_from),
                "yardstick": endpoint.yardstick,
                "verdict": verdict,
                "errors": errors,
                "rounds": measured,
            }
        )
    return rows


def width(text: str) -> int:
    """Columns `text` takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def fraction(value: float) -> str:
    """A ratio with two significant digits below 0.1 (0.023, not 0.02: slow pages are compared at that scale)."""
    return f"{value:.3f}" if value < 0.1 else f"{value:.2f}"


def print_table(rows: list[dict], rounds: int) -> None:
    heading = f"median of {rounds} rounds" if rounds > 1 else "1 round"
    say(f"\nResults ({heading}):")
    name_width = max(20, *(width(row["endpoint"]) for row in rows))
    header = (
        f"{'endpoint':<{name_width}} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6} {'/ins':>6} {'goal':>8}"
        "  result"
    )
    say(header)
    say("-" * len(header))
    for row in rows:
        goal = (
            f"≥{fraction(row['goal'])}" + ("/ins" if row["yardstick"] == "bare-insert" else "") if row["goal"] else "-"
        )
        to_insert = fraction(row["ratio_insert"]) if row["ratio_insert"] is not None else "-"
        verdict = row["verdict"] + (f" ({row['errors']} errors)" if row["errors"] else "")
        name = row["endpoint"] + " " * (name_width - width(row["endpoint"]))
        say(
            f"{name} {row['requests_per_s']:>9.1f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} "
            f"{fraction(row['ratio']):>6} {to_insert:>6} {goal:>8}  {verdict}"
        )


def write_results(rows: list[dict], meta: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{meta['started_at'].replace(':', '').replace('-', '')}.json"
    path.write_text(json.dumps({**meta, "results": rows}, indent=2, ensure_ascii=False) + "\n")
    return path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds measured per endpoint (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load first (default 3)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the whole series, report medians (default 1)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2, as production)")
    parser.add_argument(
        "--institutions",
        type=int,
        default=20_000,
        help="bench institutions the database holds at least (seeded if missing; default 20000; "
        "0: no seeding, the registry endpoints are skipped)",
    )
    groups = ["core", "registry", *scenario_names()]
    parser.add_argument(
        "--only",
        default=",".join(groups),
        help=f"comma-separated groups to measure (default all: {','.join(groups)}); the bare view always runs",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="no response cache for public answers (PUBLIC_CACHE_SECONDS=0): every request does the whole work, "
        "as the long tail of different tokens and queries does",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal fails or a run has errors")
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)  # the setup subprocess
    args = parser.parse_args(argv)
    if args.duration < 1 or args.warmup < 0 or args.rounds < 1 or args.institutions < 0:
        parser.error("--duration and --rounds must be at least 1, --warmup and --institutions at least 0")
    args.only = [g.strip() for g in args.only.split(",") if g.strip()]
    if unknown := set(args.only) - set(groups):
        parser.error(f"unknown group(s) {', '.join(sorted(unknown))}; known: {', '.join(groups)}")
    if "registry" not in args.only:
        args.institutions = 0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scenarios = [name for name in args.only if name in scenario_names()]
    if args.setup:
        setup_step(args.institutions, scenarios)
        return 0
    wrk = ensure_wrk()
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    yardsticks = ENDPOINTS[:2]  # bare and bare-insert always run
    endpoints = [e for e in ENDPOINTS + scenario_endpoints(scenarios) if e.group in args.only or e in yardsticks]
    endpoints = [e for e in endpoints if args.institutions or not e.registry]
    per_endpoint = args.warmup + args.duration
    say(f"Benchmark: {len(endpoints)} endpoints × {args.rounds} round(s) × {per_endpoint} s ≈ "
        f"{len(endpoints) * args.rounds * per_endpoint} s of load.")  # fmt: skip

    load_before = os.getloadavg()[0]
    if load_before > 0.5 * (os.cpu_count() or 1):
        # wrk, gunicorn and PostgreSQL share the CPUs: anything else running skews the figures, even the ratios.
        say(f"Warning: load average {load_before:.1f} before the run; other processes will make the figures noisy.")

    with tempfile.TemporaryDirectory(prefix="shuangjian-bench-") as tmp:
        tmpdir = Path(tmp)
        env, services = bench_environment(tmpdir)
        if args.cold:
            env["PUBLIC_CACHE_SECONDS"] = "0"
            services["public cache"] = "off (--cold)"
        for name, value in services.items():
            say(f"{name}: {value}")
        setup = prepare_database(env, args.institutions, scenarios)
        values = {TOKEN: setup["token"], VERIFY_TOKEN: (setup["registry"] or {}).get("verify_token") or ""}
        for made in setup["scenarios"].values():
            values.update({"{" + name + "}": str(value) for name, value in made["values"].items()})

        server = Server(env, free_port(), args.workers, tmpdir / "gunicorn.log")
        try:
            server.start()
            say(f"gunicorn: {args.workers} sync workers on {server.base_url}")
            for endpoint in endpoints:
                url = endpoint_url(server.base_url, endpoint, values)
                check_endpoint(url, endpoint, request_headers(endpoint, values), request_body(endpoint, values))
            runs = measure(wrk, server.base_url, endpoints, values, args, tmpdir)
        except BenchError:
            if tail := server.log_tail():
                say(f"gunicorn log (last lines):\n{tail}")
            raise
        finally:
            server.stop()

    rows = summarise(runs, endpoints)
    print_table(rows, args.rounds)
    meta = {
        "started_at": started_at,
        "git": git_revision(),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": round(load_before, 2),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "services": services,
        "registry": setup["registry"],
        "scenarios": {name: made["seconds"] for name, made in setup["scenarios"].items()},
        "public_cache": "off" if args.cold else "on",
        "server": {"gunicorn_workers": args.workers, "worker_class": "sync"},
        "wrk": {
            "connections": args.connections,
            "threads": args.threads,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
        },
    }
    say(f"\nWritten: {write_results(rows, meta)}")

    failed = [r["endpoint"] for r in rows if r["verdict"] in {"FAIL", "ERROR"}]
    if failed:
        say(f"Below goal or with errors: {', '.join(failed)}" + ("" if args.strict else " (exit 0: no --strict)"))
    return 1 if failed and args.strict else 0


def _terminate(signum, frame):
    raise KeyboardInterrupt  # so a SIGTERM (e.g. from `timeout`) also runs the `finally` that stops gunicorn


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("bench: interrupted; gunicorn stopped.", file=sys.stderr)
        sys.exit(130)
