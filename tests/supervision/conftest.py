"""Complaint fixtures: bureau staff per town, a registry institution with a QR token, images of every kind."""

from __future__ import annotations

import importlib
import uuid

import pytest
from PIL import Image

from accounts.models import Role
from supervision.complaints import services, sla
from tests.conftest import DISTRICT, TOWN_A, TOWN_B, make_user, region
from tests.factories import image_bytes  # noqa: F401 - the tests of this folder import it from here
from tests.institutions.helpers import make_institution


@pytest.fixture(autouse=True)
def _fresh_caches(request, settings):
    settings.COMPLAINT_LIST_CACHE_SECONDS = 0  # on in production; its own test turns it on
    marker = request.node.get_closest_marker("django_db")
    if marker:
        request.getfixturevalue("_django_db_helper")  # the database is set up (or restored) first
        if not marker.kwargs.get("transaction"):  # transactional tests restore the migrations' rows themselves
            _reference_data()
    _clear()
    yield
    _clear()


def _clear():
    from accounts import scope
    from supervision.complaints import cache as complaint_cache
    from supervision.complaints import selectors

    sla.clear_caches()
    services.clear_category_cache()
    services.clear_routing_cache()
    selectors.clear_category_names()
    scope.clear_caches()
    complaint_cache.clear()


def _reference_data():
    """Categories and deadline values come from a data migration; a transactional test elsewhere may have flushed
    them, so they are loaded again when missing."""
    from django.apps import apps

    from supervision.models import ComplaintCategory

    if not ComplaintCategory.objects.exists():
        importlib.import_module("supervision.migrations.0002_load_categories").load(apps, None)


@pytest.fixture
def registered(db):
    """A licensed institution of town A, with a live QR token."""
    return make_institution("涪陵区小画家美术培训学校")


@pytest.fixture
def registered_b(db):
    return make_institution("李渡星星培训中心", town=TOWN_B)


@pytest.fixture
def staff_a(db):
    """Bureau staff responsible for town A."""
    return make_user("王科长", Role.BUREAU_STAFF, region=region(TOWN_A))


@pytest.fixture
def staff_b(db):
    return make_user("李科员", Role.BUREAU_STAFF, region=region(TOWN_B))


@pytest.fixture
def supervisor(db):
    """The district supervisor: a bureau admin of the district."""
    return make_user("周局长", Role.BUREAU_ADMIN, region=region(DISTRICT))


@pytest.fixture
def inst_staff(db, registered):
    return make_user("赵经理", Role.INSTITUTION_STAFF, institution=registered)


def complaint_body(institution=None, **extra) -> dict:
    body = {
        "category": "refund",
        "description": "报名后孩子只上了两节课，机构拒绝退还剩余费用。",
        "occurred_at": "2026-11-20T10:00:00+08:00",
    }
    if institution is not None:
        body["institution_id"] = institution.pk
    body.update(extra)
    return body


def file(api, institution=None, key: str | None = None, **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api.post("complaints", complaint_body(institution, **extra), **headers)


def new_key() -> str:
    return str(uuid.uuid4())


def gps_exif() -> bytes:
    """EXIF with a GPS position (Fuling) and an orientation tag, as phones write them."""
    exif = Image.Exif()
    exif[0x0112] = 1  # orientation
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (29.0, 42.0, 0.0)
    gps[3] = "E"
    gps[4] = (107.0, 23.0, 0.0)
    return exif.tobytes()
