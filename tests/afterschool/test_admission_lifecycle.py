"""Time-driven steps (expiry, reminders 30 and 7 days ahead), who sees what (404 outside one's scope), the cost of
the list, and suspension rules."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from afterschool.admission import tasks
from afterschool.admission.models import Admission
from afterschool.schedule.models import Session, Staff
from core.models import Notification
from tests.conftest import assert_error, make_user
from tests.factories import ProhibitedPersonFactory, SessionFactory

from .admission_support import admitted, service_data
from .conftest import make_programme

pytestmark = pytest.mark.django_db


def test_reminders_at_30_and_7_days_once_each(coach, school_admin_x, bureau_staff, term_x, institution_staff):
    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    until = a.valid_until
    with time_machine.travel(until - timedelta(days=31), tick=False):
        assert tasks.admission_daily()["reminders"] == 0
    for days in (30, 7):
        day = until - timedelta(days=days)
        with time_machine.travel(day.isoformat() + "T08:00+08:00", tick=False):
            first = tasks.admission_daily()
            again = tasks.admission_daily()
        assert first["reminders"] == 2 and again["reminders"] == 0  # the person and the school, once
    kinds = Notification.objects.filter(kind="admission.expiring")
    assert set(kinds.values_list("recipient_id", flat=True)) == {coach.pk, school_admin_x.pk}
    assert kinds.count() == 4


def test_expiry_after_the_last_valid_day(coach, school_admin_x, bureau_staff, term_x):
    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    with time_machine.travel(a.valid_until.isoformat() + "T20:00+08:00", tick=False):
        assert tasks.admission_daily()["expired"] == 0
    with time_machine.travel((a.valid_until + timedelta(days=1)).isoformat() + "T08:00+08:00", tick=False):
        assert tasks.admission_daily()["expired"] == 1
        assert tasks.admission_daily()["expired"] == 0
    a.refresh_from_db()
    assert a.status == "expired"
    assert Notification.objects.filter(recipient=coach, kind="admission.expired").exists()


def test_scope_others_get_404(api_as, coach, school_admin_x, school_admin_y, bureau_staff, inspector_b, term_x, parent):
    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    url = f"afterschool/admissions/{a.pk}"
    for outsider in (school_admin_y, inspector_b, parent, make_user("路人")):
        assert_error(api_as(outsider).get(url), 404)
        assert_error(api_as(outsider).post(f"{url}/revoke", {"reason": "poor_service"}), 404)
        assert api_as(outsider).get("afterschool/admissions").json()["count"] == 0
    assert_error(api_as(school_admin_x).get("afterschool/admissions/999999"), 404)


def test_only_the_bureau_suspends_and_only_the_school_reviews(api_as, coach, school_admin_x, bureau_staff, term_x):
    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    assert_error(api_as(school_admin_x).post(f"afterschool/admissions/{a.pk}/suspend", {"reason": "poor_service"}), 403)
    assert_error(api_as(coach).post(f"afterschool/admissions/{a.pk}/suspend", {"reason": "poor_service"}), 403)
    r = api_as(bureau_staff).post(f"afterschool/admissions/{a.pk}/suspend", {"reason": "made_up"})
    assert r.status_code == 422 and Admission.objects.get(pk=a.pk).status == "admitted"
    r = api_as(bureau_staff).post(
        f"afterschool/admissions/{a.pk}/suspend", {"reason": "disrupting", "note": "扰乱课堂"}
    )
    assert r.json()["status"] == "suspended"
    # Suspended can still be revoked; revoked is final.
    assert (
        api_as(bureau_staff).post(f"afterschool/admissions/{a.pk}/revoke", {"reason": "disrupting"}).json()["status"]
        == "revoked"
    )
    assert_error(
        api_as(bureau_staff).post(f"afterschool/admissions/{a.pk}/suspend", {"reason": "disrupting"}),
        409,
        "admission.wrong_state",
    )


def test_suspension_of_a_session_not_yet_started_clears_its_staff(coach, school_admin_x, bureau_staff, term_x):
    from afterschool.admission import services

    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    programme = make_programme(term_x, "围棋", kind="clubs")
    staff = Staff.objects.get(outside_person=a.person)
    s = SessionFactory(
        programme=programme,
        weekday=4,
        starts_at=time(16),
        ends_at=time(17),
        staff=staff,
        first_date=date(2026, 12, 4),
        last_date=date(2026, 12, 25),
    )
    services.admission_suspend(actor=bureau_staff, admission=a, reason="not_delivering")
    s.refresh_from_db()
    assert s.staff_id is None and s.needs_staff and s.first_date == date(2026, 12, 4)
    assert Session.objects.filter(programme=programme).count() == 1


def test_the_list_costs_the_same_for_10_and_40_applications(api_as, school_admin_x, term_x):
    from afterschool.admission import services

    def make(n, offset):
        for i in range(n):
            u = make_user(f"申请人{offset + i}")
            data = service_data(term_x.school, seq=offset + i, name=f"申请人{offset + i}")
            services.admission_create(actor=u, **data)

    api = api_as(school_admin_x)
    make(10, 100)
    api.get("afterschool/admissions")  # warm: the token's first use is recorded once
    with CaptureQueriesContext(connection) as small:
        assert api.get("afterschool/admissions", {"page_size": 100}).json()["count"] == 10
    make(30, 200)
    with CaptureQueriesContext(connection) as large:
        assert api.get("afterschool/admissions", {"page_size": 100}).json()["count"] == 40
    assert len(small) == len(large)


def test_national_platform_fields_in_the_registry_record(api_as, bureau_admin, institution_a):
    r = api_as(bureau_admin).raw(
        "patch",
        f"institutions/{institution_a.pk}",
        b'{"on_national_platform": true, "national_platform_since": "2024-03-01"}',
    )
    assert r.status_code == 200, r.content
    body = api_as(bureau_admin).get(f"institutions/{institution_a.pk}").json()
    assert body["on_national_platform"] is True and body["national_platform_since"] == "2024-03-01"
    r = api_as(bureau_admin).raw(
        "patch", f"institutions/{institution_a.pk}", b'{"national_platform_since": "2024-13-01"}'
    )
    assert r.status_code == 422


def test_the_bureau_lifts_a_suspension_but_not_a_register_hit(api_as, coach, school_admin_x, bureau_staff, term_x):
    from afterschool.admission import services
    from core.pii import id_number_hash

    from .admission_support import id_no

    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    bureau = api_as(bureau_staff)
    url = f"afterschool/admissions/{a.pk}"
    assert_error(bureau.post(f"{url}/reinstate", {}), 409, "admission.wrong_state")
    services.admission_suspend(actor=bureau_staff, admission=a, reason="poor_service")
    assert_error(api_as(school_admin_x).post(f"{url}/reinstate", {}), 403)
    assert bureau.post(f"{url}/reinstate", {"note": "整改到位"}).json()["status"] == "admitted"
    assert Notification.objects.filter(recipient=coach, kind="admission.reinstated").exists()

    ProhibitedPersonFactory(id_hash=id_number_hash(id_no(1)))
    services.admitted_recheck()
    assert Admission.objects.get(pk=a.pk).status == "suspended"
    assert_error(bureau.post(f"{url}/reinstate", {}), 409, "admission.register_hit")
    assert Admission.objects.get(pk=a.pk).status == "suspended"


def test_reminders_reach_the_person_the_third_party_and_the_school(
    school_admin_x, bureau_staff, term_x, institution_staff, institution_a
):
    institution_a.status = "licensed"
    institution_a.on_national_platform = True
    institution_a.save()
    teacher = make_user("机构教练", phone="13900000077")  # the person sent, with an account of their own
    colleague = make_user("机构同事", "institution_staff", institution=institution_a)
    a = admitted(
        institution_staff,
        school_admin_x,
        bureau_staff,
        term_x.school,
        seq=5,
        name="机构教练",
        institution_id=institution_a.pk,
        phone="13900000077",
        fee_per_lesson="50",
        market_price="100",
    )
    expected = {teacher.pk, institution_staff.pk, colleague.pk, school_admin_x.pk}
    for days in (30, 7):
        day = a.valid_until - timedelta(days=days)
        with time_machine.travel(day.isoformat() + "T08:00+08:00", tick=False):
            assert tasks.admission_daily()["reminders"] == len(expected)
        sent = Notification.objects.filter(kind="admission.expiring", payload__days=days)
        assert set(sent.values_list("recipient_id", flat=True)) == expected
    with time_machine.travel((a.valid_until + timedelta(days=1)).isoformat() + "T08:00+08:00", tick=False):
        assert tasks.admission_daily()["expired"] == 1
    assert set(Notification.objects.filter(kind="admission.expired").values_list("recipient_id", flat=True)) == expected


def test_each_step_notifies_the_applicant_and_the_next_reviewer(api_as, coach, school_admin_x, bureau_staff, term_x):
    from afterschool.admission import services

    from .admission_support import add_documents

    def told(kind):
        return set(Notification.objects.filter(kind=f"admission.{kind}").values_list("recipient_id", flat=True))

    data = service_data(term_x.school)
    a = services.admission_create(actor=coach, **data)
    add_documents(coach, a)
    services.admission_submit(actor=coach, admission=a)
    assert told("submitted") == {coach.pk} and told("school_review") == {school_admin_x.pk}
    services.admission_school_review(actor=school_admin_x, admission=a, approve=False, message="补充资质证书")
    assert told("returned") == {coach.pk}  # the applicant is the next to act
    services.admission_submit(actor=coach, admission=a)
    services.admission_school_review(actor=school_admin_x, admission=a, approve=True)
    assert told("school_approved") == {coach.pk} and told("bureau_review") == {bureau_staff.pk}
    services.admission_bureau_review(actor=bureau_staff, admission=a, approve=False, message="健康证明不清晰")
    assert told("returned") == {coach.pk, school_admin_x.pk}
    services.admission_submit(actor=coach, admission=a)
    services.admission_school_review(actor=school_admin_x, admission=a, approve=True)
    services.admission_bureau_review(actor=bureau_staff, admission=a, approve=True)
    assert told("admitted") == {coach.pk, school_admin_x.pk}
    services.admission_suspend(actor=bureau_staff, admission=a, reason="poor_service")
    assert told("suspended") == {coach.pk} and told("needs_staff") == {school_admin_x.pk}
    services.admission_revoke(actor=bureau_staff, admission=a, reason="poor_service")
    assert told("revoked") == {coach.pk}
    # Every notification names the application, never the ID number.
    from .admission_support import id_no

    assert not Notification.objects.filter(title__contains=id_no(1)).exists()
    assert not Notification.objects.filter(body__contains=id_no(1)).exists()
