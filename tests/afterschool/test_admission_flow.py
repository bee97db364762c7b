"""Admission of outside personnel through the API: the whole life of one application (draft → documents → submitted
→ returned → resubmitted → school approval → bureau admission → on a session → revoked → off every future session,
past attendance kept, and no route can put them back)."""

from __future__ import annotations

from datetime import date, time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from afterschool.admission.models import Admission
from afterschool.schedule.models import Session, Staff
from core.models import AuditEvent, Notification
from tests.conftest import assert_error, make_user
from tests.factories import AttendanceFactory, SessionFactory

from .admission_support import application_data, id_no, jpeg_scan, pdf_scan
from .conftest import enrol, make_programme

pytestmark = pytest.mark.django_db
BASE = "afterschool/admissions"


def upload(api, admission_id, kind, f):
    return api.client.post(f"/api/v1/{BASE}/{admission_id}/documents", {"kind": kind, "file": f}, **api._headers({}))


def test_whole_life_from_submission_to_revocation(
    api_as,
    coach,
    school_admin_x,
    bureau_staff,
    school_admin_y,
    term_x,
    child,
    teacher_x,
    django_capture_on_commit_callbacks,
):
    programme = make_programme(term_x, "足球", kind="sports")
    enrol(child, programme)
    me, school, bureau = api_as(coach), api_as(school_admin_x), api_as(bureau_staff)

    r = me.post(BASE, application_data(term_x.school, phone="13900000001", programme_ids=[programme.pk]))
    assert r.status_code == 201, r.content
    a = r.json()
    assert a["status"] == "draft" and a["id_number"].endswith(id_no(1)[-4:]) and a["id_number"].startswith("*")
    assert id_no(1) not in r.content.decode()
    for kind in ("photo", "criminal_record", "health"):
        assert upload(me, a["id"], kind, jpeg_scan()).status_code == 201
    # The consent form is missing: nothing moves.
    assert_error(me.post(f"{BASE}/{a['id']}/submit"), 422, "admission.documents_missing")
    assert upload(me, a["id"], "consent", pdf_scan()).status_code == 201
    # So is a scan of the qualification declared.
    error = assert_error(me.post(f"{BASE}/{a['id']}/submit"), 422, "admission.documents_missing")
    assert "资质证书" in error["message"] and Admission.objects.get(pk=a["id"]).status == "draft"
    assert upload(me, a["id"], "qualification", jpeg_scan()).status_code == 201

    r = me.post(f"{BASE}/{a['id']}/submit")
    assert r.json()["status"] == "school_review"
    assert Notification.objects.filter(recipient=school_admin_x, kind="admission.school_review").exists()
    # Another school's admin does not even see it.
    assert_error(api_as(school_admin_y).get(f"{BASE}/{a['id']}"), 404)

    assert_error(school.post(f"{BASE}/{a['id']}/school-review", {"approve": False}), 422, "admission.message_required")
    r = school.post(f"{BASE}/{a['id']}/school-review", {"approve": False, "message": "请补充教练员证扫描件"})
    assert r.json()["status"] == "returned"
    assert Notification.objects.filter(recipient=coach, kind="admission.returned").exists()
    assert upload(me, a["id"], "qualification", jpeg_scan()).status_code == 201
    assert me.post(f"{BASE}/{a['id']}/submit").json()["status"] == "school_review"

    # The bureau cannot skip the school.
    assert_error(bureau.post(f"{BASE}/{a['id']}/bureau-review", {"approve": True}), 409, "admission.wrong_state")
    assert school.post(f"{BASE}/{a['id']}/school-review", {"approve": True}).json()["status"] == "bureau_review"
    assert Notification.objects.filter(recipient=bureau_staff, kind="admission.bureau_review").exists()
    r = bureau.post(f"{BASE}/{a['id']}/bureau-review", {"approve": True})
    body = r.json()
    assert body["status"] == "admitted"
    assert body["valid_from"] == "2026-11-25" and body["valid_until"] == "2027-11-24"  # 365 days by default

    # Now on a session of the school.
    r = school.post(
        f"afterschool/programmes/{programme.pk}/sessions",
        {"weekdays": [0, 2], "starts_at": "16:00", "ends_at": "17:30", "outside_person_id": body["outside_person_id"]},
    )
    assert r.status_code == 201, r.content
    assert {s["staff_kind"] for s in r.json()} == {"outside"}
    monday = Session.objects.get(programme=programme, weekday=0)
    past = AttendanceFactory(session=monday, student=child, date=date(2026, 11, 23))

    with django_capture_on_commit_callbacks(execute=True):
        r = bureau.post(f"{BASE}/{a['id']}/revoke", {"reason": "poaching", "note": "课上招揽学生报班"})
    assert r.json()["status"] == "revoked" and r.json()["reason"] == "poaching"

    # Off every future session at once, which now need staff; the past stays as it was.
    future = Session.objects.filter(programme=programme, first_date__gte=date(2026, 11, 25))
    assert future.count() == 2 and all(s.staff_id is None and s.needs_staff for s in future)
    monday.refresh_from_db()
    assert monday.last_date == date(2026, 11, 24) and monday.staff.outside_person_id == body["outside_person_id"]
    past.refresh_from_db()
    assert past.session_id == monday.pk and past.mark == "present"
    assert Notification.objects.filter(recipient=school_admin_x, kind="admission.needs_staff").exists()
    assert Notification.objects.filter(recipient=coach, kind="admission.revoked").exists()
    check = school.get(f"afterschool/schools/{term_x.school_id}/schedule-check").json()
    assert "needs_staff" in {f["code"] for f in check["findings"]}
    timetable = school.get(f"afterschool/schools/{term_x.school_id}/sessions").json()
    assert [s["needs_staff"] for s in timetable if s["first_date"] == "2026-11-25"] == [True, True]

    # Every step audited, from which state to which.
    steps = list(
        AuditEvent.objects.filter(object_type="afterschool.admission", object_id=str(a["id"]), to_state__gt="")
        .order_by("id")
        .values_list("from_state", "to_state")
    )
    assert steps == [
        ("", "draft"),
        ("draft", "school_review"),
        ("school_review", "returned"),
        ("returned", "school_review"),
        ("school_review", "bureau_review"),
        ("bureau_review", "admitted"),
        ("admitted", "revoked"),
    ]

    # No route puts a revoked person back: the API ...
    r = school.post(
        f"afterschool/programmes/{programme.pk}/sessions",
        {"weekdays": [4], "starts_at": "16:00", "ends_at": "17:00", "outside_person_id": body["outside_person_id"]},
    )
    assert_error(r, 409, "session.outside_not_admitted")
    # ... any save (the admin, an import, a shell) ...
    staff = Staff.objects.get(outside_person_id=body["outside_person_id"])
    from core.errors import DomainError

    with pytest.raises(DomainError):
        Session.objects.create(
            programme=programme,
            school=programme.school,
            weekday=4,
            starts_at=time(16),
            ends_at=time(17),
            staff=staff,
            first_date=date(2026, 11, 27),
            last_date=date(2026, 12, 31),
        )
    # ... nor re-staffing a freed session.
    freed = future.first()
    freed.staff = staff
    freed.needs_staff = False
    with pytest.raises(DomainError):
        freed.save()
    assert Session.objects.filter(staff=staff, last_date__gte=date(2026, 11, 25)).count() == 0


def test_renewal_prefills_from_the_last_application(api_as, coach, school_admin_x, bureau_staff, term_x):
    from .admission_support import admitted

    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    r = api_as(coach).post(f"{BASE}/{a.pk}/renew")
    assert r.status_code == 201
    draft = r.json()
    assert draft["status"] == "draft" and draft["renewal_of"] == a.pk
    assert draft["qualifications"] == a.qualifications and draft["record_issuer"] == a.record_issuer
    assert draft["documents"] == [] and draft["consent_signed"] is False
    # A second open one for the same person and school is refused.
    assert_error(api_as(coach).post(f"{BASE}/{a.pk}/renew"), 409, "admission.duplicate_open")


def test_a_renewal_is_completed_submitted_and_admitted(api_as, coach, school_admin_x, bureau_staff, term_x):
    from .admission_support import admitted

    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    me = api_as(coach)
    draft = me.post(f"{BASE}/{a.pk}/renew").json()
    assert_error(me.post(f"{BASE}/{draft['id']}/submit"), 422, "admission.documents_missing")
    for kind in ("photo", "qualification", "criminal_record", "health", "consent"):
        assert upload(me, draft["id"], kind, jpeg_scan()).status_code == 201
    assert_error(me.post(f"{BASE}/{draft['id']}/submit"), 422, "admission.consent_required")
    # A certificate older than allowed is refused and nothing changes.
    r = me.raw("patch", f"{BASE}/{draft['id']}", b'{"record_issued_on": "2026-01-05", "consent_signed": true}')
    assert_error(r, 422, "admission.record_too_old")
    assert Admission.objects.get(pk=draft["id"]).consent_signed is False
    r = me.raw(
        "patch",
        f"{BASE}/{draft['id']}",
        b'{"record_issued_on": "2026-11-20", "health_issued_on": "2026-11-21", "consent_signed": true}',
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["record_issued_on"] == "2026-11-20" and body["qualifications"] == a.qualifications
    assert me.post(f"{BASE}/{draft['id']}/submit").json()["status"] == "school_review"
    # Submitted: no more changes.
    r = me.raw("patch", f"{BASE}/{draft['id']}", b'{"record_issuer": "x"}')
    assert_error(r, 409, "admission.wrong_state")
    api_as(school_admin_x).post(f"{BASE}/{draft['id']}/school-review", {"approve": True})
    r = api_as(bureau_staff).post(f"{BASE}/{draft['id']}/bureau-review", {"approve": True})
    assert r.json()["status"] == "admitted" and r.json()["renewal_of"] == a.pk
    assert AuditEvent.objects.filter(verb="admission.updated", object_id=str(draft["id"])).count() == 1


def test_only_the_applicant_changes_an_application(api_as, coach, school_admin_x, term_x):
    a = api_as(coach).post(BASE, application_data(term_x.school)).json()
    r = api_as(school_admin_x).raw("patch", f"{BASE}/{a['id']}", b'{"record_issuer": "x"}')
    assert_error(r, 403)  # the school sees it, but only the applicant changes it
    r = api_as(make_user("路人")).raw("patch", f"{BASE}/{a['id']}", b'{"record_issuer": "x"}')
    assert_error(r, 404)
    assert Admission.objects.get(pk=a["id"]).record_issuer == "涪陵区公安分局"


def test_documents_only_for_reviewers_and_each_view_logged(
    api_as, coach, school_admin_x, bureau_staff, inspector_b, term_x
):
    from .admission_support import admitted

    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    doc = a.documents.first()
    url = f"{BASE}/{a.pk}/documents/{doc.pk}"
    r = api_as(school_admin_x).get(url)
    assert r.status_code == 200 and r["Content-Type"] == "image/jpeg"
    assert api_as(bureau_staff).get(url).status_code == 200
    assert AuditEvent.objects.filter(verb="admission.document_viewed", object_id=str(a.pk)).count() == 2
    # The applicant and a stranger do not see the scans.
    assert_error(api_as(coach).get(url), 404)
    assert_error(api_as(inspector_b).get(url), 404)
    assert AuditEvent.objects.filter(verb="admission.document_viewed").count() == 2


def test_bad_scans_are_refused_and_nothing_is_stored(api_as, coach, term_x, settings):
    from pathlib import Path

    me = api_as(coach)
    a = me.post(BASE, application_data(term_x.school)).json()
    r = upload(me, a["id"], "photo", SimpleUploadedFile("a.jpg", b"MZ\x90\x00 not an image", content_type="image/jpeg"))
    assert_error(r, 415, "upload.not_a_document")
    r = upload(me, a["id"], "consent", SimpleUploadedFile("a.pdf", b"%PDF-1.4 cut off", content_type="application/pdf"))
    assert_error(r, 422, "upload.truncated")
    assert Admission.objects.get(pk=a["id"]).documents.count() == 0
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))  # no file left behind


def test_photo_exif_is_dropped(api_as, coach, term_x):
    import io

    from PIL import Image

    image = Image.new("RGB", (20, 20))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    me = api_as(coach)
    a = me.post(BASE, application_data(term_x.school)).json()
    assert upload(me, a["id"], "photo", SimpleUploadedFile("p.jpg", buffer.getvalue())).status_code == 201
    stored = Admission.objects.get(pk=a["id"]).documents.get().file.read()
    assert b"PhoneMaker" not in stored


@pytest.mark.parametrize(
    "change, status, code",
    [
        ({"id_number": id_no(1)[:-1] + ("0" if id_no(1)[-1] != "0" else "1")}, 422, "admission.id_number_invalid"),
        ({"record_issued_on": "2026-04-01"}, 422, "admission.record_too_old"),
        ({"record_issued_on": "2026-12-01"}, 422, "admission.record_in_future"),
        (
            {"qualifications": [{"kind": "教练员证", "number": "1", "issuer": "体育局", "expires_on": "2026-11-01"}]},
            422,
            "admission.qualification_expired",
        ),
        ({"school_id": 999999}, 422, "admission.school_unknown"),
        ({"programme_ids": [999999]}, 422, "admission.programme_unknown"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(api_as, coach, term_x, change, status, code):
    r = api_as(coach).post(BASE, {**application_data(term_x.school), **change})
    assert_error(r, status, code)
    assert Admission.objects.count() == 0
    from afterschool.admission.models import OutsidePerson

    assert OutsidePerson.objects.count() == 0


def test_error_messages_in_english(api_as, coach, term_x):
    r = api_as(coach, lang="en").post(BASE, {**application_data(term_x.school), "record_issued_on": "2026-01-01"})
    assert "6 months" in assert_error(r, 422, "admission.record_too_old")["message"]


def test_second_open_application_for_the_same_person_and_school(api_as, coach, term_x):
    assert api_as(coach).post(BASE, application_data(term_x.school)).status_code == 201
    assert_error(api_as(coach).post(BASE, application_data(term_x.school)), 409, "admission.duplicate_open")
    assert Admission.objects.count() == 1


def test_in_service_teacher_of_another_school_cannot_be_paid(api_as, school_y, term_x):
    teacher = make_user("Y 校老师", "teacher", phone="13900000009", school=school_y)
    r = api_as(teacher).post(BASE, application_data(term_x.school, phone="13900000009"))
    assert_error(r, 409, "admission.in_service_teacher")
    from afterschool.admission.models import OutsidePerson

    assert Admission.objects.count() == 0 and OutsidePerson.objects.count() == 0  # nothing half-written
    # As an unpaid volunteer it is allowed.
    r = api_as(teacher).post(BASE, application_data(term_x.school, phone="13900000009", paid=False))
    assert r.status_code == 201


def test_third_party_fee_must_be_clearly_below_market(api_as, institution_staff, institution_a, term_x, anon):
    from afterschool.admission.models import OutsidePerson

    me = api_as(institution_staff)
    data = application_data(
        term_x.school, institution_id=institution_a.pk, fee_per_lesson="90.00", market_price="100.00"
    )
    institution_a.on_national_platform = True
    institution_a.save()
    assert_error(me.post(BASE, data), 409, "admission.institution_not_eligible")  # not licensed
    institution_a.status = "licensed"
    institution_a.on_national_platform = False
    institution_a.save()
    assert_error(me.post(BASE, data), 409, "admission.institution_not_eligible")  # not on the national platform
    institution_a.on_national_platform = True
    institution_a.national_platform_since = date(2024, 3, 1)
    institution_a.save()
    assert_error(me.post(BASE, data), 422, "admission.fee_not_below_market")  # 90 > 80 % of 100
    assert_error(me.post(BASE, {**data, "fee_per_lesson": "120.00"}), 422, "admission.fee_not_below_market")
    assert_error(me.post(BASE, {**data, "fee_per_lesson": None}), 422, "admission.fee_required")
    assert Admission.objects.count() == 0 and OutsidePerson.objects.count() == 0  # nothing half-written
    r = me.post(BASE, {**data, "fee_per_lesson": "80.00"})
    assert r.status_code == 201 and r.json()["fee_per_lesson"] == "80.00"
    # Another institution's staff may not apply in its name.
    assert_error(api_as(make_user("路人")).post(BASE, {**data, "id_number": id_no(2)}), 403)


def test_public_list_shows_admitted_third_parties_not_individuals(
    anon, institution_staff, institution_a, coach, school_admin_x, bureau_staff, term_x
):
    from .admission_support import admitted

    institution_a.status = "licensed"
    institution_a.on_national_platform = True
    institution_a.national_platform_since = date(2024, 3, 1)
    institution_a.save()
    admitted(coach, school_admin_x, bureau_staff, term_x.school, seq=1)
    assert anon.get("afterschool/admitted-third-parties").json() == {"items": [], "count": 0}
    admitted(
        institution_staff,
        school_admin_x,
        bureau_staff,
        term_x.school,
        seq=2,
        name="机构教练",
        institution_id=institution_a.pk,
        fee_per_lesson="50",
        market_price="100",
    )
    body = anon.get("afterschool/admitted-third-parties").json()
    assert body["count"] == 1 and body["items"][0]["name"] == institution_a.name
    assert "陈教练" not in str(body) and "机构教练" not in str(body)
    page = anon.client.get("/afterschool/third-parties")
    assert page.status_code == 200 and institution_a.name in page.content.decode()


def test_schedule_check_reports_admission_lapsing_within_term(api_as, coach, school_admin_x, bureau_staff, term_x):
    from .admission_support import admitted

    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    programme = make_programme(term_x, "书法", kind="arts")
    staff = Staff.objects.get(outside_person=a.person)
    SessionFactory(
        programme=programme,
        weekday=1,
        starts_at=time(16),
        ends_at=time(17),
        staff=staff,
        first_date=date(2026, 11, 25),
        last_date=date(2026, 12, 31),
    )
    school = api_as(school_admin_x)
    codes = {f["code"] for f in school.get(f"afterschool/schools/{term_x.school_id}/schedule-check").json()["findings"]}
    assert "admission_lapses" not in codes
    Admission.objects.filter(pk=a.pk).update(valid_until=date(2026, 12, 15))
    findings = school.get(f"afterschool/schools/{term_x.school_id}/schedule-check").json()["findings"]
    lapse = [f for f in findings if f["code"] == "admission_lapses"]
    assert len(lapse) == 1 and lapse[0]["rule"] == "R-ASS-2" and "2026-12-15" in lapse[0]["message"]


def test_a_session_starting_after_expiry_is_refused(api_as, coach, school_admin_x, bureau_staff, term_x):
    from .admission_support import admitted

    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    Admission.objects.filter(pk=a.pk).update(valid_until=date(2026, 12, 1))
    programme = make_programme(term_x, "舞蹈", kind="arts")
    r = api_as(school_admin_x).post(
        f"afterschool/programmes/{programme.pk}/sessions",
        {
            "weekdays": [1],
            "starts_at": "16:00",
            "ends_at": "17:00",
            "outside_person_id": a.person_id,
            "first_date": "2026-12-07",
        },
    )
    assert_error(r, 409, "session.outside_not_admitted")
    assert not Session.objects.filter(programme=programme).exists()


def test_staff_must_be_one_of_teacher_or_outside(api_as, school_admin_x, term_x, teacher_x):
    programme = make_programme(term_x)
    r = api_as(school_admin_x).post(
        f"afterschool/programmes/{programme.pk}/sessions", {"weekdays": [1], "starts_at": "16:00", "ends_at": "17:00"}
    )
    assert_error(r, 422, "session.staff_required")


def test_admin_lists_admissions_read_only_without_scans(client, coach, school_admin_x, bureau_staff, term_x):
    from accounts.models import User

    from .admission_support import admitted

    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    root = User.objects.create_superuser(username="root", password="pw-123456789", name="root")
    client.force_login(root)
    page = client.get("/admin/afterschool/admission/")
    assert page.status_code == 200 and "陈教练" in page.content.decode()
    detail = client.get(f"/admin/afterschool/admission/{a.pk}/change/").content.decode()
    assert "documents/" not in detail and id_no(1) not in detail
    assert client.get("/admin/afterschool/prohibitedperson/add/").status_code == 403


def test_public_list_is_cached_but_a_revocation_shows_at_once(
    anon, settings, institution_staff, institution_a, school_admin_x, bureau_staff, term_x
):
    from afterschool.admission import services

    from .admission_support import admitted

    settings.PUBLIC_CACHE_SECONDS = 10
    institution_a.status = "licensed"
    institution_a.on_national_platform = True
    institution_a.save()
    sent = admitted(
        institution_staff,
        school_admin_x,
        bureau_staff,
        term_x.school,
        seq=2,
        name="机构教练",
        institution_id=institution_a.pk,
        fee_per_lesson="50",
        market_price="100",
    )
    assert anon.get("afterschool/admitted-third-parties").json()["count"] == 1
    services.admission_revoke(actor=bureau_staff, admission=sent, reason="poor_service")
    assert anon.get("afterschool/admitted-third-parties").json() == {"items": [], "count": 0}
