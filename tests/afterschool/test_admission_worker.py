"""Production lane: a register import queues the re-check as a task through the Redis broker; a real Celery worker
suspends the admitted person found on the register and tells the school (eager tasks would hide a payload or a
transaction that does not cross processes)."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from afterschool.admission.models import Admission
from core.models import Notification
from tests.conftest import make_user

from .admission_support import admitted, id_no, register_xlsx

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_register_import_suspends_through_a_worker(api_as, term_x, school_admin_x, bureau_staff, real_worker):
    coach = make_user("陈教练")
    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    api = api_as(bureau_staff)
    sheet = register_xlsx([["陈教练", id_no(1), "法院判决", "2026-11-20"]])
    r = api.client.post(
        "/api/v1/afterschool/admission-register/import",
        {"file": SimpleUploadedFile("名单.xlsx", sheet)},
        **api._headers({}),
    )
    assert r.status_code == 200 and r.json()["added"] == 1, r.content
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and Admission.objects.get(pk=a.pk).status == "admitted":
        time.sleep(0.2)
    a.refresh_from_db()
    assert a.status == "suspended" and a.reason == "register_hit"
    assert Notification.objects.filter(recipient=school_admin_x, kind="admission.needs_staff").exists()
