"""A revoked (or suspended) outside person cannot be put on a session by any route: the API, the Django admin (the
session pages are read-only; the staff change form re-checks whom a row names), and an import (loaddata of
sessions or of staff rows)."""

from __future__ import annotations

import json
from datetime import date, time

import pytest
from django.core.management import call_command

from afterschool.admission import services
from afterschool.schedule.models import Session, Staff
from tests.conftest import assert_error, make_user
from tests.factories import SessionFactory, StaffFactory

from .admission_support import admitted
from .conftest import make_programme

pytestmark = pytest.mark.django_db


@pytest.fixture
def revoked(coach, school_admin_x, bureau_staff, term_x):
    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    services.admission_revoke(actor=bureau_staff, admission=a, reason="poaching")
    return a


@pytest.fixture
def other(school_admin_x, bureau_staff, term_x):
    """Another coach, admitted, on a Tuesday session from next week."""
    a = admitted(make_user("刘老师"), school_admin_x, bureau_staff, term_x.school, seq=2, name="刘老师")
    staff = Staff.objects.get(outside_person=a.person)
    programme = make_programme(term_x, "篮球", kind="sports")
    session = SessionFactory(
        programme=programme,
        weekday=1,
        starts_at=time(16),
        ends_at=time(17),
        staff=staff,
        first_date=date(2026, 12, 1),
        last_date=date(2026, 12, 29),
    )
    return staff, session


def test_api_refuses_a_revoked_person(api_as, revoked, school_admin_x, term_x):
    programme = make_programme(term_x, "足球", kind="sports")
    r = api_as(school_admin_x).post(
        f"afterschool/programmes/{programme.pk}/sessions",
        {"weekdays": [1], "starts_at": "16:00", "ends_at": "17:00", "outside_person_id": revoked.person_id},
    )
    assert_error(r, 409, "session.outside_not_admitted")
    assert not Session.objects.filter(programme=programme).exists()


def test_admin_session_pages_are_read_only(admin_client, revoked, other):
    staff = Staff.objects.get(outside_person=revoked.person)
    _, session = other
    assert admin_client.get("/admin/afterschool/session/add/").status_code == 403
    r = admin_client.post(
        f"/admin/afterschool/session/{session.pk}/change/",
        {
            "programme": session.programme_id,
            "school": session.school_id,
            "weekday": 1,
            "starts_at": "16:00",
            "ends_at": "17:00",
            "staff": staff.pk,
            "first_date": "2026-12-01",
            "last_date": "2026-12-29",
        },
    )
    assert r.status_code == 403
    session.refresh_from_db()
    assert session.staff.outside_person_id != revoked.person_id


def _staff_form(staff: Staff, **change) -> dict:
    return {
        "school": staff.school_id,
        "kind": staff.kind,
        "name": staff.name,
        "user": staff.user_id or "",
        "outside_person": staff.outside_person_id or "",
        **change,
    }


def test_admin_staff_form_cannot_swap_a_revoked_person_onto_a_staffed_row(admin_client, revoked, other):
    staff, session = other
    url = f"/admin/afterschool/staff/{staff.pk}/change/"
    assert admin_client.get(url).status_code == 200
    r = admin_client.post(url, _staff_form(staff, outside_person=revoked.person_id, name="陈教练"))
    assert r.status_code == 200  # the form again, with the error
    assert "没有有效的准入" in r.content.decode()
    staff.refresh_from_db()
    session.refresh_from_db()
    assert staff.outside_person_id == session.staff.outside_person_id != revoked.person_id
    # Editing the name of the row alone is fine.
    r = admin_client.post(url, _staff_form(staff, name="刘老师（篮球）"))
    assert r.status_code == 302
    assert Staff.objects.get(pk=staff.pk).name == "刘老师（篮球）"


def test_admin_staff_form_cannot_turn_a_teacher_row_into_a_revoked_person(admin_client, revoked, term_x, teacher_x):
    programme = make_programme(term_x, "阅读")
    teacher_row = StaffFactory(school=term_x.school, user=teacher_x)
    SessionFactory(
        programme=programme,
        weekday=3,
        starts_at=time(16),
        ends_at=time(17),
        staff=teacher_row,
        first_date=date(2026, 12, 3),
        last_date=date(2026, 12, 31),
    )
    url = f"/admin/afterschool/staff/{teacher_row.pk}/change/"
    r = admin_client.post(url, _staff_form(teacher_row, kind="outside", user="", outside_person=revoked.person_id))
    assert r.status_code == 200 and "没有有效的准入" in r.content.decode()
    assert Staff.objects.get(pk=teacher_row.pk).kind == "teacher"


def test_admin_staff_form_cannot_add_a_revoked_person(admin_client, revoked, term_x):
    Staff.objects.filter(outside_person=revoked.person).delete()
    r = admin_client.post(
        "/admin/afterschool/staff/add/",
        {"school": term_x.school_id, "kind": "outside", "name": "陈教练", "outside_person": revoked.person_id},
    )
    assert r.status_code == 200 and "没有有效的准入" in r.content.decode()
    assert not Staff.objects.filter(outside_person=revoked.person).exists()


def test_admin_staff_form_also_refuses_a_suspended_person(admin_client, bureau_staff, other, term_x, school_admin_x):
    staff, session = other
    a = admitted(make_user("周教练"), school_admin_x, bureau_staff, term_x.school, seq=3, name="周教练")
    services.admission_suspend(actor=bureau_staff, admission=a, reason="poor_service")
    r = admin_client.post(
        f"/admin/afterschool/staff/{staff.pk}/change/", _staff_form(staff, outside_person=a.person_id, name="周教练")
    )
    assert r.status_code == 200 and "没有有效的准入" in r.content.decode()
    assert Staff.objects.get(pk=staff.pk).outside_person_id != a.person_id


def test_a_shell_save_of_a_staff_row_is_checked_too(revoked, other):
    from core.errors import DomainError

    staff, session = other
    staff.outside_person = revoked.person
    with pytest.raises(DomainError, match="admission"):
        staff.save()
    assert Staff.objects.get(pk=staff.pk).outside_person_id != revoked.person_id


def _load(tmp_path, rows: list[dict]):
    fixture = tmp_path / "import.json"
    fixture.write_text(json.dumps(rows))
    call_command("loaddata", str(fixture), verbosity=0)


def test_an_import_of_sessions_refuses_a_revoked_person(revoked, term_x, tmp_path):
    staff = Staff.objects.get(outside_person=revoked.person)
    programme = make_programme(term_x, "导入项目")
    row = {
        "model": "afterschool.session",
        "pk": 99001,
        "fields": {
            "programme": programme.pk,
            "school": programme.school_id,
            "weekday": 1,
            "starts_at": "16:00",
            "ends_at": "17:00",
            "staff": staff.pk,
            "needs_staff": False,
            "first_date": "2026-12-01",
            "last_date": "2026-12-29",
        },
    }
    with pytest.raises(Exception, match="admission|准入"):
        _load(tmp_path, [row])
    assert not Session.objects.filter(pk=99001).exists()


def test_an_import_of_staff_rows_cannot_swap_in_a_revoked_person(revoked, other, tmp_path):
    staff, session = other
    row = {
        "model": "afterschool.staff",
        "pk": staff.pk,
        "fields": {
            "school": staff.school_id,
            "kind": "outside",
            "user": None,
            "name": "陈教练",
            "outside_person": revoked.person_id,
        },
    }
    with pytest.raises(Exception, match="admission|准入"):
        _load(tmp_path, [row])
    assert Staff.objects.get(pk=staff.pk).outside_person_id != revoked.person_id
