"""Fee allocation through the API: bad input (shares not 100 %, a negative rate, an exemption without approval,
missing attendance, editing a locked run), lessons not held, the shortfall, adjustments, per-month bills, payments
only into the school's account, the scope of each role, and list query counts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from afterschool.fees import allocation as fee_allocation
from afterschool.fees import services as fees
from afterschool.fees.models import AllocationLine, AllocationRun, Bill, Exemption, Refund
from afterschool.schedule.models import Attendance, Term
from core.models import AuditEvent
from tests.afterschool.conftest import SHANGHAI, make_session, make_student
from tests.afterschool.test_fee_helpers import build_term, bureau_of_town, outside_staff, take_attendance
from tests.conftest import assert_error
from tests.factories import AttendanceFactory, EnrolmentFactory, ExemptionFactory, TermFactory

pytestmark = pytest.mark.django_db

PLAN = {"shares": {"teacher": "60", "outside": "20", "operations": "15", "reserve": "5"}}


@pytest.fixture
def scene(school_x, class_x, teacher_x, teacher_x2, parent, school_admin_x):
    s = build_term(school_x, class_x, teacher_x, teacher_x2, parent)
    fees.rate_set(actor=school_admin_x, term_id=s.term.pk, basis="per_lesson", amount="3.00")
    fees.bills_issue(actor=school_admin_x, term_id=s.term.pk)
    take_attendance(s)
    fee_allocation.plan_set(actor=school_admin_x, term_id=s.term.pk, shares=PLAN["shares"])
    return s


@pytest.fixture
def town_bureau(school_x):
    return bureau_of_town(school_x.town)


def test_shares_must_sum_to_100(api_as, scene, school_admin_x):
    school = api_as(school_admin_x)
    t = scene.term.pk
    err = assert_error(
        school.post(f"fees/terms/{t}/plan", {"shares": {"teacher": "60", "outside": "20", "operations": "15"}}),
        422,
        "allocation.shares_not_100",
    )
    assert "95" in err["message"]
    assert_error(
        school.post(f"fees/terms/{t}/plan", {"shares": {"teacher": "110", "outside": "-10"}}),
        422,
        "allocation.bad_share",
    )
    assert scene.term.allocation_plan.teacher_pct == Decimal("60.00")  # the earlier plan is untouched


def test_a_negative_rate_is_refused(api_as, scene, school_admin_x):
    school = api_as(school_admin_x)
    err = assert_error(
        school.post(f"fees/terms/{scene.term.pk}/rate", {"basis": "per_lesson", "amount": "-3.00"}),
        422,
        "fee.negative_rate",
    )
    assert "amount" in err["fields"]
    assert scene.term.fee_rate.amount == Decimal("3.00")


def test_the_rate_defaults_to_the_policy_value(api_as, scene, school_admin_x):
    r = api_as(school_admin_x).post(f"fees/terms/{scene.term.pk}/rate", {"basis": "per_month"})
    assert r.json() == {"basis": "per_month", "amount": "120.00", "policy_key": "service_fee_per_student_per_month"}


def test_an_exemption_without_approval_changes_nothing(api_as, scene, school_admin_x, parent):
    mum, school = api_as(parent), api_as(school_admin_x)
    t = scene.term.pk
    r = mum.post("fees/exemptions", {"student_id": scene.c1.pk, "term_id": t, "kind": "exempt", "reason": "失业"})
    assert r.status_code == 201, r.content
    assert Bill.objects.get(student=scene.c1).amount == Decimal("24.00")  # applied, not approved: still charged
    assert_error(school.post(f"fees/terms/{t}/bills"), 409, "fee.exemption_pending")
    # A parent cannot approve; the school can; the bill then drops to zero.
    assert_error(mum.post(f"fees/exemptions/{r.json()['id']}/decision", {"approve": True}), 404)
    assert school.post(f"fees/exemptions/{r.json()['id']}/decision", {"approve": True}).status_code == 200
    assert Bill.objects.get(student=scene.c1).amount == Decimal("0.00")
    # A reduction needs an amount; an exemption takes none.
    assert_error(
        school.post("fees/exemptions", {"student_id": scene.c2.pk, "term_id": t, "kind": "reduce", "reason": "x"}),
        422,
        "fee.amount_required",
    )


def test_missing_attendance_blocks_until_settled_as_not_held(api_as, scene, school_admin_x):
    Attendance.objects.filter(session=scene.care_tue, date=date(2026, 9, 15)).delete()
    school = api_as(school_admin_x)
    t = scene.term.pk
    assert_error(school.post(f"fees/terms/{t}/allocations", {}), 409, "allocation.attendance_missing")
    assert not AllocationRun.objects.exists()
    gaps = school.get(f"fees/terms/{t}/attendance-gaps").json()
    assert gaps == [{"session_id": scene.care_tue.pk, "programme": "作业辅导", "staff": "赵老师", "date": "2026-09-15"}]
    # Not a lesson day of that session: refused; the real day: recorded, and it counts nothing.
    bad = {"session_id": scene.care_tue.pk, "date": "2026-09-16", "reason": "雷雨"}
    assert_error(school.post(f"fees/terms/{t}/not-held", bad), 422, "fee.not_a_lesson_day")
    held = {"session_id": scene.care_tue.pk, "date": "2026-09-14", "reason": "雷雨"}
    assert_error(school.post(f"fees/terms/{t}/not-held", held), 422, "fee.not_a_lesson_day")
    held["date"] = "2026-09-08"
    assert_error(school.post(f"fees/terms/{t}/not-held", held), 409, "fee.lesson_was_held")
    ok = {"session_id": scene.care_tue.pk, "date": "2026-09-15", "reason": "雷雨停课"}
    assert school.post(f"fees/terms/{t}/not-held", ok).status_code == 201
    run = school.post(f"fees/terms/{t}/allocations", {}).json()
    lessons = {ln["name"]: ln["lessons"] for ln in run["lines"]}
    assert lessons == {"王老师": 4, "赵老师": 3, "马画师": 2}  # Tue 15 Sep was not held: it counts nothing


def test_a_whole_day_without_services_is_recorded_in_one_go(api_as, scene, school_admin_x, school_admin_y, teacher_x2):
    # Wednesday 16 September: 王老师's homework care had attendance taken; a reading session that also meets on
    # Wednesdays did not (a storm warning came in between).
    school, t = api_as(school_admin_x), scene.term.pk
    reading = scene.term.programmes.get(name="经典诵读")
    reading_wed = make_session(reading, teacher_x2, weekday=2, start=(16, 0), end=(17, 0))
    meeting = {scene.care_wed.pk, reading_wed.pk}
    r = school.post(f"fees/terms/{t}/days-not-held", {"date": "2026-09-16", "reason": "暴雨红色预警停课"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["held"] == [scene.care_wed.pk] and body["recorded"] == [reading_wed.pk]
    assert body["already_recorded"] == [] and set(body["held"] + body["recorded"]) == meeting
    gaps = school.get(f"fees/terms/{t}/attendance-gaps").json()
    assert not [g for g in gaps if g["date"] == "2026-09-16"]
    # Again: nothing new; the audit has the one event.
    again = school.post(f"fees/terms/{t}/days-not-held", {"date": "2026-09-16", "reason": "暴雨"}).json()
    assert again["recorded"] == [] and again["already_recorded"] == body["recorded"]
    assert AuditEvent.objects.filter(verb="afterschool.day_not_held").count() == 1
    # A Saturday of no make-up is not a school day; no reason is refused; another school's admin: 404.
    assert_error(school.post(f"fees/terms/{t}/days-not-held", {"date": "2026-09-19", "reason": "x"}), 422,
                 "fee.not_a_school_day")  # fmt: skip
    assert_error(school.post(f"fees/terms/{t}/days-not-held", {"date": "2026-09-17", "reason": " "}), 422,
                 "fee.reason_required")  # fmt: skip
    assert_error(api_as(school_admin_y).post(f"fees/terms/{t}/days-not-held", {"date": "2026-09-17", "reason": "x"}),
                 404)  # fmt: skip


def test_a_session_of_another_term_is_not_recorded_under_this_one(api_as, scene, school_admin_x):
    other = TermFactory(school=scene.term.school, starts_on=date(2027, 3, 1), ends_on=date(2027, 6, 30))
    body = {"session_id": scene.care_tue.pk, "date": "2026-09-15", "reason": "雷雨停课"}
    assert_error(api_as(school_admin_x).post(f"fees/terms/{other.pk}/not-held", body), 404)


def test_a_locked_allocation_never_changes_and_an_adjustment_references_it(api_as, scene, school_admin_x, town_bureau):
    school, bureau = api_as(school_admin_x), api_as(town_bureau)
    t = scene.term.pk
    fees.subsidy_add(actor=town_bureau, term_id=t, amount="1000.00")  # enough for the outside lessons
    rid = school.post(f"fees/terms/{t}/allocations", {}).json()["id"]
    assert school.post(f"fees/terms/{t}/allocations", {}).json()["id"] == rid  # a draft is recomputed in place
    assert school.post(f"fees/allocations/{rid}/review").status_code == 200
    assert bureau.post(f"fees/allocations/{rid}/approve").status_code == 200
    assert bureau.post(f"fees/allocations/{rid}/lock").status_code == 200
    before = list(AllocationLine.objects.filter(run_id=rid).values_list("staff_id", "amount").order_by("staff_id"))
    for attempt in (
        school.post(f"fees/terms/{t}/allocations", {}),
        school.post(f"fees/allocations/{rid}/review"),
        bureau.post(f"fees/allocations/{rid}/approve"),
        bureau.post(f"fees/allocations/{rid}/lock"),
    ):
        assert_error(attempt, 409, "allocation.locked")
    # Income after locking: a subsidy top-up. The correction is an adjustment run with the differences.
    fees.subsidy_add(actor=town_bureau, term_id=t, amount="100.00")
    adj = school.post(f"fees/allocations/{rid}/adjustments").json()
    assert (adj["kind"], adj["adjusts"], adj["status"]) == ("adjustment", rid, "draft")
    assert adj["figures"]["pool"] == "100.00"
    assert adj["figures"]["teacher_share"] == "60.00"
    assert sum(Decimal(ln["amount"]) for ln in adj["lines"]) == Decimal("60.00")  # only the teachers' lines change
    assert {ln["lessons"] for ln in adj["lines"]} == {0}
    assert (
        list(AllocationLine.objects.filter(run_id=rid).values_list("staff_id", "amount").order_by("staff_id")) == before
    )
    # Only one open run at a time; the base must be locked.
    assert_error(school.post(f"fees/allocations/{adj['id']}/adjustments"), 409, "allocation.wrong_state")


def test_a_short_outside_share_is_reported_and_blocks_review(api_as, scene, school_admin_x):
    school = api_as(school_admin_x)
    t = scene.term.pk
    school.post(f"fees/terms/{t}/plan", {"shares": {"teacher": "95", "outside": "1", "operations": "4"}})
    run = school.post(f"fees/terms/{t}/allocations", {}).json()
    # Pool 66.00 (bills 24 + 18 + 24): 1 % = 0.66 against 2 lessons × 50.00 owed.
    assert (run["figures"]["outside_owed"], run["figures"]["outside_share"], run["figures"]["shortfall"]) == (
        "100.00",
        "0.66",
        "99.34",
    )
    assert [ln["amount"] for ln in run["lines"] if ln["pay_type"] == "labour"] == ["100.00"]
    err = assert_error(school.post(f"fees/allocations/{run['id']}/review"), 409, "allocation.shortfall")
    assert "99.34" in err["message"]


def test_an_outside_person_without_a_rate_blocks(api_as, scene, school_admin_x):
    nobody = outside_staff(scene.term.school, name="何教练", rate=None, seq=2)
    scene.arts_fri.staff = nobody
    scene.arts_fri.save()
    err = assert_error(
        api_as(school_admin_x).post(f"fees/terms/{scene.term.pk}/allocations", {}), 409, "allocation.rate_missing"
    )
    assert "何教练" in err["message"]


def test_per_month_bills_and_refund_by_school_days(
    api_as, school_x, class_x, teacher_x, teacher_x2, parent, school_admin_x
):
    s = build_term(school_x, class_x, teacher_x, teacher_x2, parent)
    s.term.ends_on = date(2026, 10, 16)  # 7 Sep – 16 Oct: two calendar months
    s.term.save()
    for sess in (s.care_mon, s.care_tue, s.care_wed, s.reading_thu, s.arts_fri):
        sess.last_date = s.term.ends_on
        sess.save()
    fees.rate_set(actor=school_admin_x, term_id=s.term.pk, basis="per_month", amount="120.00")
    with time_machine.travel(datetime(2026, 9, 7, 9, tzinfo=SHANGHAI), tick=False):
        fees.bills_issue(actor=school_admin_x, term_id=s.term.pk)
    bill = Bill.objects.get(student=s.c2)
    assert (bill.months, bill.gross) == (2, Decimal("240.00"))
    # School days 7 Sep – 16 Oct: 7–30 Sep less Mid-Autumn (25th) plus the make-up Sunday 20th = 18; National Day
    # week off; 8–16 Oct with the make-up Saturday 10th = 8. Total 26.
    with time_machine.travel(datetime(2026, 9, 25, 10, tzinfo=SHANGHAI), tick=False):
        r = api_as(school_admin_x).post(f"afterschool/applications/{s.apps[('李小红', '作业辅导')].pk}/withdraw")
        assert r.status_code == 200, r.content
    refund = Refund.objects.get(bill=bill)
    # Attended 7–24 Sep incl. Sunday 20th: 15 days; not attended from Mon 28 Sep: 26 − 15 = 11 → 240 × 11 / 26.
    assert (refund.effective_from, refund.units_billed, refund.units_not_attended) == (date(2026, 9, 28), 26, 11)
    assert refund.amount == Decimal("101.54")


def test_payments_go_only_into_the_schools_own_account(api_as, scene, school_admin_x, school_y, school_admin_y):
    school = api_as(school_admin_x)
    for name in ("X 小学家委会", "某培训机构"):
        assert_error(
            school.post(
                f"fees/schools/{scene.term.school_id}/accounts",
                {"bank": "农行", "account_name": name, "account_number": "62284800123"},
            ),
            422,
            "fee.account_not_school",
        )
    other = fees.account_create(
        actor=school_admin_y,
        school_id=school_y.pk,
        bank="农行",
        account_name=school_y.name,
        account_number="62284800999",
    )
    bill = Bill.objects.get(student=scene.c1)
    body = {"account_id": other.pk, "amount": "24.00", "paid_on": "2026-09-08"}
    assert_error(school.post(f"fees/bills/{bill.pk}/payments", body), 422, "fee.account_not_school")
    mine = fees.account_create(
        actor=school_admin_x,
        school_id=scene.term.school_id,
        bank="农行",
        account_name="X 小学",
        account_number="62284800123",
    )
    body["account_id"] = mine.pk
    body["amount"] = "30.00"
    assert_error(school.post(f"fees/bills/{bill.pk}/payments", body), 422, "fee.overpayment")
    body["amount"] = "24.00"
    body["reference"] = "BANK-0001"
    first = school.post(f"fees/bills/{bill.pk}/payments", body)
    assert first.status_code == 201
    # The same payment sent again (a retry on a weak signal) is recorded once; the number used for another: 409.
    assert school.post(f"fees/bills/{bill.pk}/payments", body).json()["id"] == first.json()["id"]
    assert bill.payments.count() == 1
    other_bill = Bill.objects.get(student=scene.c2)
    assert_error(school.post(f"fees/bills/{other_bill.pk}/payments", body), 409, "fee.payment_reference_used")


def test_each_role_sees_its_own(
    api_as,
    scene,
    school_admin_x,
    school_admin_y,
    parent,
    other_parent,
    bureau_staff,
    town_bureau,
    inspector_b,
    teacher_x,
):
    t = scene.term.pk
    ExemptionFactory(student=scene.c1, term=scene.term)
    rid = fee_allocation.run_compute(actor=school_admin_x, term_id=t).pk
    # School, town bureau, district bureau: the term and every line; a parent: only their child's bill.
    for user in (school_admin_x, town_bureau, bureau_staff):
        c = api_as(user)
        assert c.get(f"fees/terms/{t}").status_code == 200
        assert c.get("fees/bills", {"term_id": t}).json()["count"] == 3
        assert c.get("fees/exemptions").json()["count"] == 1
        assert len(c.get(f"fees/allocations/{rid}").json()["lines"]) == 3
    mum = api_as(parent)
    assert [b["student_name"] for b in mum.get("fees/bills").json()["items"]] == ["张小明"]
    assert mum.get("fees/exemptions").json()["count"] == 1
    assert_error(mum.get(f"fees/terms/{t}"), 404)
    assert_error(mum.get(f"fees/allocations/{rid}"), 404)
    # Another school, another town's inspector, another parent: nothing.
    for user in (school_admin_y, inspector_b, other_parent):
        c = api_as(user)
        assert_error(c.get(f"fees/terms/{t}"), 404)
        assert c.get("fees/bills").json()["count"] == 0
        assert c.get("fees/exemptions").json()["count"] == 0
        assert_error(c.get(f"fees/allocations/{rid}"), 404)
        assert_error(c.get(f"fees/allocations/{rid}/summary.xlsx"), 404)
    # A teacher sees the run with their own line only, and no school summary.
    own = api_as(teacher_x).get(f"fees/allocations/{rid}").json()["lines"]
    assert [ln["name"] for ln in own] == ["王老师"]
    assert_error(api_as(teacher_x).get(f"fees/allocations/{rid}/summary.xlsx"), 404)
    # Writes: only the school admin computes; only the bureau of the town approves; only the bureau enters subsidy.
    assert_error(api_as(teacher_x).post(f"fees/terms/{t}/allocations", {}), 404)
    assert_error(api_as(school_admin_x).post(f"fees/terms/{t}/subsidies", {"amount": "1.00"}), 404)
    assert_error(api_as(inspector_b).post(f"fees/allocations/{rid}/approve"), 404)


def test_list_queries_do_not_grow_with_page_size(api_as, scene, school_admin_x, class_x, school_x):
    for _ in range(110):
        make_student(school_x, class_x)
    students = list(class_x.students.all())
    Bill.objects.bulk_create(
        [
            Bill(student=s, term=scene.term, school=school_x, basis="per_lesson", rate=3, gross=3, amount=3)
            for s in students
            if not Bill.objects.filter(student=s, term=scene.term).exists()
        ]
    )
    bills = list(Bill.objects.filter(term=scene.term))
    Exemption.objects.bulk_create(
        Exemption(student_id=b.student_id, term=scene.term, school=school_x, kind="exempt", reason="困难")
        for b in bills
    )
    Refund.objects.bulk_create(
        Refund(bill=b, amount=1, effective_from=date(2026, 9, 14), units_not_attended=1, units_billed=3) for b in bills
    )
    c = api_as(school_admin_x)
    c.get("fees/bills", {"page_size": 1})  # warm the token cache

    def count(path, size):
        with CaptureQueriesContext(connection) as ctx:
            r = c.get(path, {"page_size": size})
        assert len(r.json()["items"]) == size
        return len(ctx.captured_queries)

    for path in ("fees/bills", "fees/exemptions", "fees/refunds"):
        assert count(path, 10) == count(path, 100), path


def test_a_parent_withdrawing_after_billing_gets_a_refund_visible_to_them(api_as, scene, parent):
    app = scene.apps[("张小明", "美术")]
    with time_machine.travel(datetime(2026, 9, 10, 10, tzinfo=SHANGHAI), tick=False):
        r = api_as(parent).post(f"afterschool/applications/{app.pk}/withdraw")
        assert r.status_code == 200, r.content
    refunds = api_as(parent).get("fees/refunds").json()
    assert [(x["programme"], x["amount"], x["units_not_attended"]) for x in refunds["items"]] == [("美术", "6.00", 2)]
    bill = api_as(parent).get("fees/bills").json()["items"][0]
    assert (bill["amount"], bill["refunded"], bill["due"]) == ("24.00", "6.00", "18.00")


def test_a_parent_sees_the_bill_reduction_refund_and_payment_on_their_page(
    api_as, client, scene, parent, other_parent, school_admin_x
):
    app = scene.apps[("张小明", "美术")]
    with time_machine.travel(datetime(2026, 9, 10, 10, tzinfo=SHANGHAI), tick=False):
        assert api_as(parent).post(f"afterschool/applications/{app.pk}/withdraw").status_code == 200
    fees.exemption_apply(
        actor=parent, student_id=app.student_id, term_id=scene.term.pk, kind="reduce", amount="2.00", reason="低保家庭"
    )
    school = scene.term.school
    account = fees.account_create(
        actor=school_admin_x,
        school_id=school.pk,
        bank="重庆农村商业银行",
        account_name=school.name,
        account_number="6217001234567890",
    )
    bill = Bill.objects.get(student_id=app.student_id, term=scene.term)
    fees.payment_record(
        actor=school_admin_x, bill_id=bill.pk, account_id=account.pk, amount="18.00", paid_on=date(2026, 9, 11)
    )
    client.force_login(parent)
    html = client.get("/afterschool/children/").content.decode()
    assert 'data-testid="bills"' in html and scene.term.name in html
    assert "应缴 <b>24.00</b> 元" in html and "退费 6.00 元（2026-09-11 起退出）"  # the next school day in html
    assert "已缴 18.00 元 2026-09-11" in html
    assert "减收（待学校审批）" in html
    client.force_login(other_parent)
    assert "24.00" not in client.get("/afterschool/children/").content.decode()


def test_lessons_are_counted_once_per_session_and_day(scene, school_admin_x):
    # A second mark for the same lesson (another child) does not make two lessons.
    extra = make_student(scene.term.school, scene.c1.school_class)
    AttendanceFactory(session=scene.care_mon, student=extra, date=date(2026, 9, 7))
    rows = fee_allocation.lessons_by_person([scene.term.pk], scene.term.ends_on)
    per = {(staff, kind): n for _, staff, kind, n in rows}
    assert per[(scene.care_mon.staff_id, "homework_care")] == 4


def test_the_admin_reads_fee_data_and_cannot_change_it(admin_client, scene, school_admin_x):
    run = fee_allocation.run_compute(actor=school_admin_x, term_id=scene.term.pk)
    for name in ("allocationrun", "bill", "feerate", "allocationplan", "exemption", "refund", "payment", "subsidy"):
        assert admin_client.get(f"/admin/afterschool/{name}/").status_code == 200, name
    page = admin_client.get(f"/admin/afterschool/allocationrun/{run.pk}/change/")
    assert page.status_code == 200 and "王老师" in page.content.decode()
    assert admin_client.get("/admin/afterschool/allocationrun/add/").status_code == 403


def test_fee_pages_keep_to_the_users_scope(client, scene, school_admin_x, school_admin_y, teacher_x, parent):
    from tests.conftest import PASSWORD

    run = fee_allocation.run_compute(actor=school_admin_x, term_id=scene.term.pk)
    url = f"/afterschool/fees/runs/{run.pk}/"
    assert client.get(url).status_code == 302  # signed out: to the login page
    client.login(username=school_admin_x.username, password=PASSWORD)
    page = client.get(url).content.decode()
    assert "王老师" in page and "赵老师" in page and "可分配总额" in page
    assert client.get(f"{url}summary.xlsx").status_code == 200
    assert client.get(f"{url}payroll.xlsx").status_code == 409  # a draft is not paid
    assert client.get(f"{url}statements/{scene.outside_staff.pk}.pdf").content.startswith(b"%PDF")
    assert client.get(f"{url}statements/{scene.outside_staff.pk}.exe").status_code == 404
    for other in (school_admin_y, parent):
        client.logout()
        client.login(username=other.username or other.phone, password=PASSWORD)
        assert client.get(url).status_code == 404
        assert client.get(f"{url}summary.xlsx").status_code == 404
    client.logout()
    client.login(username=teacher_x.username, password=PASSWORD)
    page = client.get(url).content.decode()
    assert "王老师" in page and "赵老师" not in page and "可分配总额" not in page
    assert client.get(f"{url}summary.xlsx").status_code == 404


def test_bills_issued_again_follow_the_enrolments(api_as, scene, school_admin_x):
    from afterschool.schedule.models import Application

    Application.objects.filter(student=scene.c2).delete()  # entered by mistake, removed by the school
    school = api_as(school_admin_x)
    assert school.post(f"fees/terms/{scene.term.pk}/bills").json() == {"bills": 2, "total": "48.00"}
    assert Bill.objects.get(student=scene.c2).amount == Decimal("0.00")
    assert school.get(f"fees/terms/{scene.term.pk}").json()["fees"] == "48.00"
    err = assert_error(school.post(f"fees/terms/{scene.term.pk}/rate", {"basis": "per_lesson", "amount": "abc"}), 422)
    assert err["code"] != "fee.negative_rate"


def test_only_days_with_children_on_the_roster_need_attendance(api_as, scene, school_admin_x, teacher_x2):
    from tests.afterschool.conftest import make_programme, make_session

    calligraphy = make_programme(scene.term, "书法", kind="arts")
    make_session(calligraphy, teacher_x2, weekday=4, start=(17, 0), end=(18, 0))  # Fridays 11 and 18 Sep
    school = api_as(school_admin_x)
    t = scene.term.pk
    assert school.get(f"fees/terms/{t}/attendance-gaps").json() == []  # nobody enrolled: nothing to take
    EnrolmentFactory(student=scene.c2, programme=calligraphy, active_from=date(2026, 9, 14))
    gaps = school.get(f"fees/terms/{t}/attendance-gaps").json()
    assert [(g["programme"], g["date"]) for g in gaps] == [("书法", "2026-09-18")]  # not the 11th: before the roster
    assert_error(school.post(f"fees/terms/{t}/allocations", {}), 409, "allocation.attendance_missing")


def test_the_bureau_overview_across_schools(
    api_as, scene, school_admin_x, school_admin_y, school_y, town_bureau, bureau_staff, parent
):

    ExemptionFactory(student=scene.c1, term=scene.term)
    fee_allocation.run_compute(actor=school_admin_x, term_id=scene.term.pk)
    TermFactory(school=school_y, name="2026 秋季短学期", starts_on=date(2026, 9, 7), ends_on=date(2026, 9, 18))
    row = next(r for r in api_as(town_bureau).get("fees/overview").json()["items"] if r["term_id"] == scene.term.pk)
    assert (row["fees"], row["pool"], row["rate"], row["exemptions_waiting"]) == ("66.00", "66.00", "3.00", 1)
    # 100.00 owed to the outside person − 20 % of 66.00
    assert row["allocation"]["status"] == "draft" and row["allocation"]["shortfall"] == "86.80"
    named = api_as(bureau_staff).get("fees/overview", {"term_name": "2026 秋季短学期"}).json()
    assert sorted(r["school_name"] for r in named["items"]) == ["X 小学", "Y 小学"]  # the district: every town
    assert {r["school_name"] for r in api_as(town_bureau).get("fees/overview").json()["items"]} == {"X 小学"}
    assert {r["school_name"] for r in api_as(school_admin_y).get("fees/overview").json()["items"]} == {"Y 小学"}
    assert api_as(parent).get("fees/overview").json()["count"] == 0


def test_the_overview_costs_the_same_queries_for_10_and_100_terms(api_as, scene, bureau_staff):

    Term.objects.bulk_create(
        Term(school=scene.term.school, name=f"学期{i}", starts_on=date(2025, 1, 1), ends_on=date(2025, 2, 1))
        for i in range(110)
    )
    c = api_as(bureau_staff)
    c.get("fees/overview", {"page_size": 1})

    def count(size):
        with CaptureQueriesContext(connection) as ctx:
            assert len(c.get("fees/overview", {"page_size": size}).json()["items"]) == size
        return len(ctx.captured_queries)

    assert count(10) == count(100)


def test_an_exemption_decision_is_one_audit_event_from_to_and_cannot_be_made_twice(scene, school_admin_x, parent):
    from afterschool.fees import services as fees
    from core.errors import DomainError
    from core.models import AuditEvent

    e = fees.exemption_apply(actor=parent, student_id=scene.c1.pk, term_id=scene.term.pk, kind="exempt", reason="失业")
    fees.exemption_decide(actor=school_admin_x, exemption_id=e.pk, approve=False, note="材料不全")
    with pytest.raises(DomainError) as refused:
        fees.exemption_decide(actor=school_admin_x, exemption_id=e.pk, approve=True)
    assert (refused.value.code, refused.value.status) == ("fee.exemption_decided", 409)
    events = AuditEvent.objects.filter(verb="afterschool.fee_exemption_decided", object_id=str(e.pk))
    assert [(x.from_state, x.to_state, x.actor_id, x.data) for x in events] == [
        ("applied", "rejected", school_admin_x.pk, {"note": "材料不全"})
    ]
