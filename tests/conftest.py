"""Shared fixtures: personas per role, an API client that speaks JSON with a bearer token, the lanes.

Lanes: with nothing set, the embedded default (SQLite, in-memory channel layer, eager Celery). With DATABASE_URL and
REDIS_URL set (.ci/run), PostgreSQL and Redis; tests marked `worker` then run against a real Celery worker process.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from hypothesis import settings as hypothesis_settings

from accounts import scope, sms
from accounts.models import Role, User
from institutions import public_cache
from institutions.models import Category, Status
from tests.factories import PASSWORD, InstitutionFactory, MembershipFactory, SchoolFactory, UserFactory, region

# Property tests run on a busy 2-core machine beside other lanes: a per-example time limit only makes them flaky.
hypothesis_settings.register_profile("shuangjian", deadline=None)
hypothesis_settings.load_profile("shuangjian")

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_LANE = bool(os.environ.get("REDIS_URL"))

TOWN_A = "500102006"  # 敦仁街道
TOWN_B = "500102011"  # 李渡街道
DISTRICT = "500102"


def pytest_collection_modifyitems(items):
    """Transactional tests run without serialized_rollback: the reference data they need comes back through
    `_reference_data` below.

    A transactional test ends with a flush of every table. serialized_rollback was meant to restore the migrations'
    rows afterwards, but in a long run it did not hold: content types re-created by one flush clashed with those
    restored for the next test (UNIQUE constraint failed: django_content_type). Reloading the few tables the data
    migrations fill is explicit and cheap."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker and marker.kwargs.get("serialized_rollback"):
            kwargs = {**marker.kwargs, "serialized_rollback": False}
            item.add_marker(pytest.mark.django_db(*marker.args, **kwargs), append=False)


# What the data migrations load and a flush removes: (migration module with a load(apps, schema_editor), model).
REFERENCE_DATA = (
    ("accounts.migrations.0003_load_fuling_divisions", "accounts.Region"),
    ("core.migrations.0002_load_policy_values", "core.PolicyValue"),
    ("supervision.migrations.0002_load_categories", "supervision.ComplaintCategory"),
)


def _is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("transaction")) or bool(
        {"live_server", "transactional_db"} & set(request.fixturenames)
    )


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Before a transactional test, the regions, policy values and complaint categories an earlier flush removed."""
    if not _is_transactional(request):
        return
    import importlib

    from django.apps import apps

    request.getfixturevalue("transactional_db")
    for module, label in REFERENCE_DATA:
        if not apps.get_model(label).objects.exists():
            importlib.import_module(module).load(apps, None)


def pytest_report_header(config):
    lane = "production (PostgreSQL + Redis + Celery worker)" if PRODUCTION_LANE else "embedded default"
    return f"Shuangjian test lane: {lane}; database: {settings.DATABASES['default']['ENGINE']}"


@pytest.fixture(autouse=True)
def _isolation(settings, tmp_path):
    """Fresh cache, SMS outbox and media folder per test, fast password hashing (Argon2 has its own test), eager
    tasks."""
    from config.celery import app

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.USER_CACHE_SECONDS = 0  # counted afresh (tests count queries); tests/portal/test_user_cache.py turns it on
    cache.clear()
    public_cache._cache.clear()
    scope.clear_caches()
    _clear_process_caches()
    sms.outbox.clear()
    settings.SMS_BACKEND = "accounts.sms.LocmemSmsBackend"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SCAN_FLUSH_SECONDS = 0  # scans written by the request; the batching has its own test
    app.conf.task_always_eager = True
    yield
    cache.clear()


def _clear_process_caches() -> None:
    """What each process keeps in memory by database id (routing, categories, regions, complaint lists): a flush or
    a rollback between tests makes those ids stale."""
    from core.cache import clear_process_caches

    clear_process_caches()  # every core.cache.ProcessTTLCache: categories, routing, SLA policy, complaint lists...
    scope.clear_caches()


# --- Personas ------------------------------------------------------------------------------------------------------


def client_for(user) -> Client:
    """A browser signed in as `user` (the pages' tests)."""
    c = Client()
    c.force_login(user)
    return c


def make_user(
    name: str, role: str | None = None, *, phone: str | None = None, username: str | None = None, **scope
) -> User:
    """A user signing in with PASSWORD, holding `role` where `scope` says (region=, school= or institution=)."""
    user = UserFactory(name=name, phone=phone, **({"username": username} if username else {}))
    if role:
        MembershipFactory(user=user, role=role, **scope)
    return user


@pytest.fixture
def school_x(db):
    return SchoolFactory(name="X 小学", town=region(TOWN_A))


@pytest.fixture
def school_y(db):
    return SchoolFactory(name="Y 小学", town=region(TOWN_B))


@pytest.fixture
def institution_a(db):
    # An applicant whose licence is issued: the bureau can put it on the whitelist (licensed needs a licence).
    # The model's defaults where the factory has its own (status, category, no credit code or address, no QR token).
    return InstitutionFactory(
        name="A 培训学校",
        town=region(TOWN_A),
        status=Status.APPLIED,
        category=Category.OTHER,
        credit_code=None,
        address="",
        licence_number="教民150010270009901号",
        licence_issued_on=datetime.date(2025, 9, 1),
        licence_expires_on=datetime.date(2099, 8, 31),
        token=False,
    )


@pytest.fixture
def parent(db):
    return make_user("张家长", Role.PARENT, phone="13800000001", username=None)


@pytest.fixture
def other_parent(db):
    return make_user("李家长", Role.PARENT, phone="13800000002", username=None)


@pytest.fixture
def inspector_a(db):
    return make_user("督查员甲", Role.INSPECTOR, region=region(TOWN_A))


@pytest.fixture
def inspector_b(db):
    return make_user("督查员乙", Role.INSPECTOR, region=region(TOWN_B))


@pytest.fixture
def bureau_staff(db):
    return make_user("科员", Role.BUREAU_STAFF, region=region(DISTRICT))


@pytest.fixture
def bureau_admin(db):
    return make_user("局管理员", Role.BUREAU_ADMIN, region=region(DISTRICT))


@pytest.fixture
def school_admin_x(db, school_x):
    return make_user("X 校管理员", Role.SCHOOL_ADMIN, school=school_x)


@pytest.fixture
def school_admin_y(db, school_y):
    return make_user("Y 校管理员", Role.SCHOOL_ADMIN, school=school_y)


@pytest.fixture
def institution_staff(db, institution_a):
    return make_user("机构员工", Role.INSTITUTION_STAFF, institution=institution_a)


# --- API client ----------------------------------------------------------------------------------------------------


class ApiClient:
    """Django's test client speaking JSON to /api/v1/, optionally as a signed-in user."""

    def __init__(self, token: str | None = None, lang: str | None = None):
        self.client = Client()
        self.token = token
        self.lang = lang

    def _headers(self, extra):
        headers = {}
        if self.token:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        if self.lang:
            headers["HTTP_ACCEPT_LANGUAGE"] = self.lang
        headers.update(extra)
        return headers

    @staticmethod
    def _url(path: str) -> str:
        return path if path.startswith("/") else f"/api/v1/{path}"

    def get(self, path, params=None, **extra):
        return self.client.get(self._url(path), params or {}, **self._headers(extra))

    def post(self, path, data=None, **extra):
        body = "" if data is None else json.dumps(data)
        return self.client.post(self._url(path), body, content_type="application/json", **self._headers(extra))

    def raw(self, method, path, body=b"", content_type="application/json", **extra):
        return getattr(self.client, method.lower())(
            self._url(path), body, content_type=content_type, **self._headers(extra)
        )


def login_tokens(user: User) -> dict:
    from accounts.services import auth_login

    pair = auth_login(identifier=user.username or user.phone, password=PASSWORD)
    return {"access": pair.access_token, "refresh": pair.refresh_token, "session": pair.session}


@pytest.fixture
def anon():
    return ApiClient()


@pytest.fixture
def api_as():
    """api_as(user) → an ApiClient signed in as that user."""

    def make(user: User, lang: str | None = None) -> ApiClient:
        return ApiClient(login_tokens(user)["access"], lang=lang)

    return make


def assert_error(response, status: int, code: str | None = None):
    """The one error shape, with the expected status and code."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


# --- A real Celery worker (production lane) ------------------------------------------------------------------------


def _test_database_url() -> str:
    from django.db import connection

    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A `celery worker` process on the test database and a queue of its own, for tests marked `worker`."""
    if not PRODUCTION_LANE:
        pytest.skip("needs the production lane (REDIS_URL and DATABASE_URL set): a real broker and worker")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        db_url = _test_database_url()
    env = {**os.environ, "DATABASE_URL": db_url, "CELERY_QUEUE": queue, "DB_CONN_MAX_AGE": "0"}
    log_dir = ROOT / ".venv" if (ROOT / ".venv").is_dir() else Path(tempfile.gettempdir())  # worktrees have no .venv
    log = open(log_dir / "celery-test-worker.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            queue,
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    from config.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited: see {log.name}")
        replies = app.control.ping(timeout=1.0) or []
        if replies:
            break
    else:
        proc.terminate()
        raise RuntimeError("celery worker did not answer within 60 s")
    yield queue
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def real_worker(celery_worker_process, settings):
    """Tasks go through the Redis broker to the worker process instead of running eagerly."""
    from config.celery import app

    app.conf.task_always_eager = False
    app.conf.task_default_queue = celery_worker_process
    yield celery_worker_process
    app.conf.task_always_eager = True


@pytest.fixture
def admin_user(db):
    """A superuser for the Django admin (overrides pytest-django's, which knows nothing of our required name)."""
    return User.objects.create_superuser(username="root", name="超级管理员", password=PASSWORD)


@pytest.fixture
def admin_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client
