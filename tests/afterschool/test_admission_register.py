"""The prohibited-persons register: import from xlsx (all or none, idempotent), matching by keyed hash (exact, blocks)
and by name + birth date (a warning), the re-check of every admitted person after an import (a hit suspends at once
and frees the sessions), and the bounded cost of a match whatever the register's size."""

from __future__ import annotations

from datetime import date, time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from afterschool.admission import register, services
from afterschool.admission.models import Admission, ProhibitedPerson
from afterschool.schedule.models import Session, Staff
from core.models import AuditEvent, Notification
from core.pii import id_number_hash
from tests.conftest import assert_error, make_user
from tests.factories import ProhibitedPersonFactory, SessionFactory

from .admission_support import add_documents, admitted, id_no, register_xlsx, service_data
from .conftest import make_programme

pytestmark = pytest.mark.django_db
IMPORT = "/api/v1/afterschool/admission-register/import"


def import_sheet(api, content: bytes, name="名单.xlsx"):
    return api.client.post(IMPORT, {"file": SimpleUploadedFile(name, content)}, **api._headers({}))


def test_import_is_idempotent_and_keeps_no_full_id_number(api_as, bureau_staff):
    sheet = register_xlsx(
        [["张三", id_no(7), "区法院判决", "2025-06-01"], ["李四", id_no(8), "市局通报", date(2024, 1, 2)]]
    )
    r = import_sheet(api_as(bureau_staff), sheet)
    assert r.status_code == 200 and r.json() == {"rows": 2, "added": 2, "skipped": 0}
    assert import_sheet(api_as(bureau_staff), sheet).json() == {"rows": 2, "added": 0, "skipped": 2}
    entry = ProhibitedPerson.objects.get(name="张三")
    assert entry.id_hash == id_number_hash(id_no(7)) and entry.id_last4 == id_no(7)[-4:]
    assert entry.birth_date == date(1998, 3, 15)
    assert not any(id_no(7) in str(v) for v in ProhibitedPerson.objects.values_list())
    assert AuditEvent.objects.filter(verb="admission.register_imported").count() == 2


def test_a_bad_row_imports_nothing(api_as, bureau_staff):
    bad = id_no(9)[:-1] + ("1" if id_no(9)[-1] != "1" else "2")
    r = import_sheet(
        api_as(bureau_staff),
        register_xlsx([["张三", id_no(7), "法院", "2025-06-01"], ["王五", bad, "法院", "2025-06-01"]]),
    )
    err = assert_error(r, 422, "register.rows_invalid")
    assert "3" in err["message"]
    assert ProhibitedPerson.objects.count() == 0


def test_not_a_spreadsheet_or_wrong_columns(api_as, bureau_staff):
    assert_error(import_sheet(api_as(bureau_staff), b"name,id\n", "x.csv"), 415, "register.not_xlsx")
    import io

    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["姓名", "号码"])
    out = io.BytesIO()
    book.save(out)
    assert_error(import_sheet(api_as(bureau_staff), out.getvalue()), 422, "register.columns_missing")


def test_only_the_bureau_imports(api_as, school_admin_x, coach):
    sheet = register_xlsx([["张三", id_no(7), "法院", "2025-06-01"]])
    assert_error(import_sheet(api_as(school_admin_x), sheet), 403)
    assert_error(import_sheet(api_as(coach), sheet), 403)
    assert ProhibitedPerson.objects.count() == 0


def test_a_hit_blocks_approval_and_alerts_the_bureau(api_as, coach, school_admin_x, bureau_staff, term_x):
    ProhibitedPersonFactory(
        id_hash=id_number_hash(id_no(1)),
        id_last4="0000",
        name="陈教练",
        birth_date=date(1998, 3, 15),
        source="法院判决",
        listed_on=date(2025, 1, 1),
    )
    data = service_data(term_x.school)
    a = services.admission_create(actor=coach, **data)
    add_documents(coach, a)
    services.admission_submit(actor=coach, admission=a)
    assert Notification.objects.filter(recipient=bureau_staff, kind="admission.register_hit").exists()
    body = api_as(school_admin_x).get(f"afterschool/admissions/{a.pk}").json()
    assert body["register_hits"] == 1
    # The applicant is not told about the register.
    assert api_as(coach).get(f"afterschool/admissions/{a.pk}").json()["register_hits"] == 0
    r = api_as(school_admin_x).post(f"afterschool/admissions/{a.pk}/school-review", {"approve": True})
    assert_error(r, 409, "admission.register_hit")
    assert Admission.objects.get(pk=a.pk).status == "school_review"


def test_a_hit_appearing_during_review_blocks_the_bureau(api_as, coach, school_admin_x, bureau_staff, term_x):
    data = service_data(term_x.school)
    a = services.admission_create(actor=coach, **data)
    add_documents(coach, a)
    services.admission_submit(actor=coach, admission=a)
    services.admission_school_review(actor=school_admin_x, admission=a, approve=True)
    ProhibitedPersonFactory(id_hash=id_number_hash(id_no(1)))
    r = api_as(bureau_staff).post(f"afterschool/admissions/{a.pk}/bureau-review", {"approve": True})
    assert_error(r, 409, "admission.register_hit")
    assert Admission.objects.get(pk=a.pk).status == "bureau_review"


def test_name_and_birth_date_is_a_warning_only(coach, school_admin_x, bureau_staff, term_x):
    ProhibitedPersonFactory(
        id_hash=id_number_hash(id_no(99)),
        id_last4="1234",
        name="陈教练",
        birth_date=date(1998, 3, 15),
        source="通报",
        listed_on=date(2025, 1, 1),
    )
    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    assert a.status == "admitted"
    assert a.register_warnings and a.register_warnings[0]["id_last4"] == "1234"


def test_a_likeness_added_to_the_register_later_warns_the_bureau_once_and_suspends_nobody(
    coach, school_admin_x, bureau_staff, term_x
):
    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    teacher = make_user("周老师")
    in_review = services.admission_create(actor=teacher, **service_data(term_x.school, 2, "周老师"))
    add_documents(teacher, in_review)
    services.admission_submit(actor=teacher, admission=in_review)
    assert a.register_warnings == [] and services.admitted_recheck()["newly_warned"] == 0
    for seq, name in ((91, "陈教练"), (92, "周老师")):  # both born 1998-03-15 like the applicants (id_no), other IDs
        ProhibitedPersonFactory(
            id_hash=id_number_hash(id_no(seq)),
            id_last4="4321",
            name=name,
            birth_date=date(1998, 3, 15),
            source="市教委通报",
            listed_on=date(2026, 11, 1),
        )
    assert services.admitted_recheck()["newly_warned"] == 2
    assert services.admitted_recheck()["newly_warned"] == 0  # told once
    a.refresh_from_db()
    in_review.refresh_from_db()
    assert a.status == "admitted" and in_review.status == "school_review"  # a likeness suspends nobody
    assert a.register_warnings[0]["id_last4"] == "4321" and in_review.register_warnings[0]["source"] == "市教委通报"
    assert Notification.objects.filter(recipient=bureau_staff, kind="admission.register_warning").count() == 2
    assert AuditEvent.objects.filter(verb="admission.register_warning").count() == 2


def test_import_rechecks_admitted_people_and_a_hit_suspends_at_once(
    api_as, coach, school_admin_x, bureau_staff, term_x, django_capture_on_commit_callbacks
):
    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    other = admitted(make_user("周老师"), school_admin_x, bureau_staff, term_x.school, seq=2, name="周老师")
    programme = make_programme(term_x, "篮球", kind="sports")
    staff = Staff.objects.get(outside_person=a.person)
    SessionFactory(
        programme=programme,
        weekday=3,
        starts_at=time(16),
        ends_at=time(17),
        staff=staff,
        first_date=date(2026, 11, 26),
        last_date=date(2026, 12, 31),
    )
    with django_capture_on_commit_callbacks(execute=True):
        r = import_sheet(api_as(bureau_staff), register_xlsx([["陈教练", id_no(1), "法院判决", "2026-11-20"]]))
    assert r.json()["added"] == 1
    a.refresh_from_db()
    other.refresh_from_db()
    assert a.status == "suspended" and a.reason == "register_hit" and a.register_hits
    assert other.status == "admitted"
    s = Session.objects.get(programme=programme)
    assert s.staff_id is None and s.needs_staff
    assert Notification.objects.filter(recipient=school_admin_x, kind="admission.needs_staff").exists()
    assert Notification.objects.filter(recipient=bureau_staff, kind="admission.register_hit").exists()
    assert AuditEvent.objects.filter(verb="admission.suspended", object_id=str(a.pk), actor=None).exists()


def test_recheck_costs_a_fixed_number_of_queries_to_find_hits(coach, school_admin_x, bureau_staff, term_x):
    for i in range(5):
        admitted(make_user(f"人{i}"), school_admin_x, bureau_staff, term_x.school, seq=10 + i, name=f"人{i}")
    with CaptureQueriesContext(connection) as few:
        assert services.admitted_recheck()["suspended"] == 0
    for i in range(20):
        admitted(make_user(f"另{i}"), school_admin_x, bureau_staff, term_x.school, seq=30 + i, name=f"另{i}")
    with CaptureQueriesContext(connection) as many:
        assert services.admitted_recheck()["suspended"] == 0
    assert len(few) == len(many)


def test_matching_is_two_indexed_queries_whatever_the_register_size():
    ProhibitedPerson.objects.bulk_create(
        ProhibitedPerson(
            id_hash=f"{i:064x}", name=f"人{i}", birth_date=date(1990, 1, 1), source="s", listed_on=date(2025, 1, 1)
        )
        for i in range(500)
    )
    with CaptureQueriesContext(connection) as ctx:
        hits, warnings = register.register_match(id_hash=f"{7:064x}", name="人8", birth_date=date(1990, 1, 1))
    assert len(ctx) == 2
    assert len(hits) == 1 and len(warnings) == 1


def test_an_import_marks_applications_in_review_that_now_hit(
    api_as, coach, school_admin_x, bureau_staff, term_x, django_capture_on_commit_callbacks
):
    a = services.admission_create(actor=coach, **service_data(term_x.school))
    add_documents(coach, a)
    services.admission_submit(actor=coach, admission=a)
    assert not Notification.objects.filter(kind="admission.register_hit").exists()
    with django_capture_on_commit_callbacks(execute=True):
        r = import_sheet(api_as(bureau_staff), register_xlsx([["陈教练", id_no(1), "法院判决", "2026-11-20"]]))
    assert r.json()["added"] == 1
    assert Notification.objects.filter(recipient=bureau_staff, kind="admission.register_hit").count() == 1
    r = api_as(school_admin_x).post(f"afterschool/admissions/{a.pk}/school-review", {"approve": True})
    assert_error(r, 409, "admission.register_hit")
    assert Admission.objects.get(pk=a.pk).status == "school_review"
    # A second run finds nothing new to tell.
    assert services.admitted_recheck()["in_review_flagged"] == 0
    assert Notification.objects.filter(kind="admission.register_hit").count() == 1
