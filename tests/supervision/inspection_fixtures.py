"""Inspection fixtures: a team of inspectors in town A, a plan over town A's institutions, a drawn visit, and a
phone that records offline (records with client UUIDs) and uploads photos by UUID and SHA-256."""

from __future__ import annotations

import hashlib
import importlib
import uuid
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from supervision.inspections import plans
from supervision.models import ChecklistTemplate
from tests.conftest import TOWN_A, make_user, region
from tests.factories import image_bytes
from tests.institutions.helpers import make_institution

# Premises in 敦仁街道 (Fuling); a point 1 km east of them; a point in the East China Sea.
PREMISES = ("29.703100", "107.389600")
NEARBY = (29.7032, 107.3897)
FAR = (29.7031, 107.4000)
SEA = (30.0, 125.0)


def ensure_checklist():
    if not ChecklistTemplate.objects.exists():
        from django.apps import apps

        importlib.import_module("supervision.migrations.0005_load_checklist").load(apps, None)


@pytest.fixture
def team(db, inspector_a):
    """Three inspectors of town A (inspector_a first)."""
    ensure_checklist()
    return [inspector_a] + [make_user(f"督查员{n}", Role.INSPECTOR, region=region(TOWN_A)) for n in (2, 3)]


@pytest.fixture
def premises(db):
    return make_institution("敦仁美术培训学校", latitude=PREMISES[0], longitude=PREMISES[1])


def make_plan(actor, team, **extra):
    values = {
        "name": "2026 年第四季度双随机抽查",
        "period_start": date(2026, 11, 1),
        "period_end": date(2026, 12, 31),
        "region_id": region(TOWN_A).pk,
        "inspector_ids": [u.pk for u in team],
        **extra,
    }
    return plans.plan_create(actor=actor, **values)


@pytest.fixture
def visit(db, bureau_staff, team, premises):
    """A drawn visit of `premises` by inspector_a and one other."""
    plan = make_plan(bureau_staff, team[:2], sampling_mode="overall", shares={"overall": 1})
    plans.plan_draw(actor=bureau_staff, plan_id=plan.pk, seed="fixture")
    return plan.visits.get(institution=premises)


def now_iso(delta=timedelta()) -> str:
    return (timezone.localtime() + delta).isoformat()


def record(visit, kind, data=None, *, base_version=None, when=None, uid=None) -> dict:
    out = {
        "uuid": uid or str(uuid.uuid4()),
        "inspection_id": visit.pk,
        "kind": kind,
        "client_time": when or now_iso(-timedelta(minutes=30)),
        "data": data or {},
    }
    if base_version is not None:
        out["base_version"] = base_version
    return out


def photo_bytes(color=(200, 30, 30)) -> bytes:
    return image_bytes(color=color)


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def upload_photo(client, visit_id, photo_uuid, content, digest=None):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.client.post(
        f"/api/v1/inspections/{visit_id}/photos/{photo_uuid}",
        {"sha256": digest or sha(content), "file": SimpleUploadedFile("p.jpg", content, content_type="image/jpeg")},
        HTTP_AUTHORIZATION=f"Bearer {client.token}",
    )


def local(dt: datetime) -> datetime:
    return timezone.localtime(dt)
