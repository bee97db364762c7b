"""The registry's compliance rules: one test per rule each way, dated policy values, a fixed number of queries, and
the findings a proposed change would introduce."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.errors import DomainError
from institutions import policy
from institutions.changes import as_json, snapshot
from institutions.models import (
    Course,
    FeePackage,
    Institution,
    ScheduleSlot,
    StaffMember,
)
from tests.factories import (
    CourseFactory,
    EscrowAccountFactory,
    FeePackageFactory,
    InstitutionFactory,
    PolicyValueFactory,
    ScheduleSlotFactory,
    StaffMemberFactory,
)

pytestmark = pytest.mark.django_db

ON = date(2026, 3, 2)  # a Monday, with every value of policy_values.csv in force


# --- Data ----------------------------------------------------------------------------------------------------------


def institution(category="arts", mode="offline", *, escrow=True, **extra) -> Institution:
    inst = InstitutionFactory(name="合规测试培训学校", category=category, mode=mode, **extra)
    if escrow:
        EscrowAccountFactory(institution=inst)
    return inst


def course(inst, name="美术基础", *, category=None, mode="offline", minutes=60, **extra) -> Course:
    category = category or inst.category
    return CourseFactory(institution=inst, name=name, category=category, mode=mode, class_minutes=minutes, **extra)


def package(c, *, hours=40, months=3, price="3000.00", name=None) -> FeePackage:
    return FeePackageFactory(course=c, name=name or f"{hours}课时", hours=hours, months=months, price=Decimal(price))


def slot(c, weekday=2, start="18:00", end="20:00") -> ScheduleSlot:
    start_time, end_time = time.fromisoformat(start), time.fromisoformat(end)
    return ScheduleSlotFactory(course=c, weekday=weekday, start_time=start_time, end_time=end_time)


def staff(inst, name="王老师", **extra) -> StaffMember:
    values = {"role": "teacher", "full_time": True, "teacher_certificate_no": "20195000000123", **extra}
    return StaffMemberFactory(institution=inst, name=name, **values)


def rules(findings) -> list[tuple[str, str]]:
    return [(f.rule_id, f.field) for f in findings]


def evaluate(inst, on=ON):
    return policy.evaluate(inst, on=on)


# --- A clean institution -------------------------------------------------------------------------------------------


def test_a_clean_institution_has_no_findings():
    inst = institution(floor_area_m2=Decimal("300.00"), max_students_present=60)
    c = course(inst)
    package(c, hours=60, months=3, price="5000.00")
    slot(c, weekday=4, end="20:30")
    staff(inst)
    assert evaluate(inst) == []


# --- R-FEE-1: at most 3 months and 60 class hours per charge ---------------------------------------------------------


@pytest.mark.parametrize(
    ("months", "hours", "expected"),
    [
        (3, 60, []),
        (4, 60, [("R-FEE-1", "months")]),
        (3, 61, [("R-FEE-1", "hours")]),
        (6, 96, [("R-FEE-1", "hours"), ("R-FEE-1", "months")]),
    ],
)
def test_fee_1_months_and_class_hours(months, hours, expected):
    inst = institution(category="subject")
    p = package(course(inst, "数学", category="subject"), hours=hours, months=months, price="9000.00")
    found = evaluate(inst)
    assert sorted(rules(found)) == sorted(expected)
    assert all(f.severity == "high" and f.object_type == "package" and f.object_id == p.pk for f in found)


# --- R-FEE-2: at most 5,000 yuan per charge for non-subject training -------------------------------------------------


def test_fee_2_non_subject_package_over_5000_yuan():
    inst = institution()
    c = course(inst)
    over = package(c, price="5000.01", name="超额")
    package(c, price="5000.00", name="刚好")
    (finding,) = evaluate(inst)
    assert (finding.rule_id, finding.field, finding.object_id, finding.severity) == (
        "R-FEE-2",
        "price",
        over.pk,
        "high",
    )
    assert "5000.01" in finding.message("zh") and "5000.00" in finding.message("en")


def test_fee_2_does_not_cap_subject_packages():
    inst = institution(category="subject")
    package(course(inst, "数学", category="subject"), price="8000.00")
    assert evaluate(inst) == []


def test_fee_2_follows_the_course_category_not_the_institution():
    inst = institution(category="subject")
    package(course(inst, "篮球", category="sports"), price="6000.00")
    assert rules(evaluate(inst)) == [("R-FEE-2", "price")]


# --- R-FEE-3: prepaid money into a supervised account ----------------------------------------------------------------


def test_fee_3_selling_packages_without_escrow():
    inst = institution(escrow=False)
    package(course(inst))
    (finding,) = evaluate(inst)
    assert (finding.rule_id, finding.severity, finding.object_type, finding.object_id) == (
        "R-FEE-3",
        "high",
        "institution",
        inst.pk,
    )


def test_fee_3_escrow_or_nothing_sold_is_fine():
    with_escrow = institution()
    package(course(with_escrow))
    nothing_sold = institution(escrow=False)
    course(nothing_sold)
    assert evaluate(with_escrow) == [] and evaluate(nothing_sold) == []


# --- R-TIME-1: no subject-type training at weekends ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "weekday", "expected"),
    [
        ("subject", 5, [("R-TIME-1", "weekday")]),
        ("subject", 6, [("R-TIME-1", "weekday")]),
        ("subject", 4, []),
        ("arts", 5, []),
    ],
)
def test_time_1_subject_training_at_weekends(category, weekday, expected):
    inst = institution(category=category)
    s = slot(course(inst, category=category), weekday=weekday, start="09:00", end="10:30")
    found = evaluate(inst)
    assert rules(found) == expected
    assert all(f.severity == "high" and f.object_type == "slot" and f.object_id == s.pk for f in found)


def test_time_1_cannot_see_holidays_and_says_so():
    # A weekly slot has no date: holidays and vacations are left to inspections, and the docstring says so.
    assert "holiday" in policy.slot_findings.__doc__ and "vacation" in policy.slot_findings.__doc__


# --- R-TIME-2: offline by 20:30, online by 21:00, online lessons at most 30 minutes -----------------------------------


@pytest.mark.parametrize(
    ("mode", "end", "expected"),
    [
        ("offline", "20:30", []),
        ("offline", "20:31", [("R-TIME-2", "end_time")]),
        ("online", "20:45", []),
        ("online", "21:00", []),
        ("online", "21:01", [("R-TIME-2", "end_time")]),
    ],
)
def test_time_2_latest_end(mode, end, expected):
    inst = institution(mode=mode)
    slot(course(inst, mode=mode, minutes=30), start="20:00", end=end)
    found = evaluate(inst)
    assert rules(found) == expected
    assert all(f.severity == "medium" for f in found)


@pytest.mark.parametrize(
    ("mode", "minutes", "expected"),
    [
        ("online", 30, []),
        ("online", 31, [("R-TIME-2", "class_minutes")]),
        ("offline", 90, []),
    ],
)
def test_time_2_online_lesson_length(mode, minutes, expected):
    inst = institution(mode="both")
    c = course(inst, mode=mode, minutes=minutes)
    found = evaluate(inst)
    assert rules(found) == expected
    assert all(f.object_type == "course" and f.object_id == c.pk for f in found)


# --- R-AGE-1: no online training for pre-school children, no subject training for ages 3-6 ----------------------------


@pytest.mark.parametrize(
    ("category", "mode", "ages", "expected"),
    [
        ("arts", "online", (4, 8), [("R-AGE-1", "min_age")]),
        ("arts", "online", (None, 5), [("R-AGE-1", "max_age")]),
        ("arts", "online", (6, 12), []),
        ("arts", "online", (None, None), []),
        ("arts", "offline", (3, 6), []),
        ("subject", "offline", (3, 6), [("R-AGE-1", "min_age")]),
        ("subject", "offline", (5, 7), [("R-AGE-1", "min_age")]),
        ("subject", "offline", (6, 12), []),
        ("subject", "offline", (1, 2), []),
        ("subject", "online", (4, 5), [("R-AGE-1", "min_age"), ("R-AGE-1", "min_age")]),
    ],
)
def test_age_1(category, mode, ages, expected):
    inst = institution(category=category, mode="both")
    course(inst, category=category, mode=mode, minutes=30, min_age=ages[0], max_age=ages[1])
    found = evaluate(inst)
    assert rules(found) == expected
    assert all(f.severity == "high" for f in found)


def test_age_1_a_grade_range_naming_pre_school_counts():
    inst = institution(category="subject")
    course(inst, "幼小衔接数学", category="subject", grade_range="幼小衔接（大班）")
    assert rules(evaluate(inst)) == [("R-AGE-1", "grade_range")]


# --- R-STAFF-1: certificates ---------------------------------------------------------------------------------------


def test_staff_1_subject_teachers_need_a_teacher_certificate():
    inst = institution(category="subject")
    without = staff(inst, "无证", teacher_certificate_no="", competence_proof="钢琴十级")
    staff(inst, "持证")
    staff(inst, "管理", role="manager", teacher_certificate_no="")
    (finding,) = evaluate(inst)
    assert (finding.rule_id, finding.field, finding.object_id) == ("R-STAFF-1", "teacher_certificate_no", without.pk)
    assert finding.severity == "medium" and "无证" in finding.message("zh")


def test_staff_1_non_subject_teachers_need_a_certificate_or_a_proof_of_competence():
    inst = institution(category="sports")
    staff(inst, "有证明", teacher_certificate_no="", competence_proof="国家二级运动员证书")
    staff(inst, "持证")
    neither = staff(inst, "都没有", teacher_certificate_no="", competence_proof="")
    assert [(f.rule_id, f.field, f.object_id) for f in evaluate(inst)] == [
        ("R-STAFF-1", "competence_proof", neither.pk)
    ]


# --- R-STAFF-2: no in-service school teacher, a passed pre-employment check -------------------------------------------


def test_staff_2_in_service_teachers_and_failed_checks():
    inst = institution()
    staff(inst, "在职", in_service_teacher=True)
    staff(inst, "查询未过", precheck_result="failed")
    staff(inst, "通过", precheck_result="passed")
    staff(inst, "待查", precheck_result="pending")
    staff(inst, "在职已离职", in_service_teacher=True, is_active=False)
    found = evaluate(inst)
    assert sorted(rules(found)) == [("R-STAFF-2", "in_service_teacher"), ("R-STAFF-2", "precheck_result")]
    assert all(f.severity == "high" for f in found)


# --- R-STAFF-3: full-time teaching staff at least half of the staff ---------------------------------------------------


def test_staff_3_full_time_share_below_half():
    inst = institution()
    staff(inst, "专职")
    staff(inst, "兼职一", full_time=False)
    staff(inst, "兼职二", full_time=False)
    (finding,) = evaluate(inst)
    assert (finding.rule_id, finding.object_type, finding.severity) == ("R-STAFF-3", "institution", "low")
    assert "50" in finding.message("zh")


def test_staff_3_half_is_enough_and_leavers_do_not_count():
    inst = institution()
    staff(inst, "专职一")
    staff(inst, "专职二")
    staff(inst, "兼职", full_time=False)
    staff(inst, "前台", role="other", full_time=True)
    for n in range(3):
        staff(inst, f"离职{n}", full_time=False, is_active=False)
    assert evaluate(inst) == []


# --- R-SITE-1: 3 m² per student present at once -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "area", "present", "expected"),
    [
        ("offline", "100.00", 40, [("R-SITE-1", "floor_area_m2")]),
        ("both", "100.00", 40, [("R-SITE-1", "floor_area_m2")]),
        ("offline", "120.00", 40, []),
        ("online", "100.00", 40, []),
        ("offline", None, 40, []),
        ("offline", "100.00", None, []),
    ],
)
def test_site_1_floor_area_per_student(mode, area, present, expected):
    inst = institution(mode=mode, floor_area_m2=None if area is None else Decimal(area), max_students_present=present)
    assert rules(evaluate(inst)) == expected


# --- What is judged --------------------------------------------------------------------------------------------------


def test_courses_not_on_sale_are_not_judged():
    inst = institution(category="subject", escrow=False)
    c = course(inst, "停售", category="subject", is_active=False)
    package(c, hours=100)
    slot(c, weekday=6)
    assert evaluate(inst) == []


def test_findings_come_most_severe_first():
    inst = institution(category="subject")
    c = course(inst, category="subject", min_age=8)
    slot(c, weekday=2, end="21:00")
    package(c, hours=80)
    staff(inst, "兼职", full_time=False)
    assert [f.severity for f in evaluate(inst)] == ["high", "medium", "low"]


# --- Dated policy values -------------------------------------------------------------------------------------------


def test_a_newer_value_judges_from_its_date_and_an_old_date_keeps_the_old_value():
    inst = institution()
    package(course(inst), hours=50)
    PolicyValueFactory(rule_id="R-FEE-1", key="prepaid_max_class_hours", value="40", effective_from=date(2030, 1, 1))
    assert evaluate(inst, on=date(2029, 12, 31)) == []
    (finding,) = evaluate(inst, on=date(2030, 1, 1))
    assert (finding.rule_id, finding.field) == ("R-FEE-1", "hours")
    assert "40" in finding.message("en")
    # The stored package is reported, never rewritten.
    assert FeePackage.objects.get().hours == 50


def test_a_dated_time_value():
    inst = institution()
    slot(course(inst), end="20:15")
    PolicyValueFactory(rule_id="R-TIME-2", key="offline_latest_end", value="20:00", effective_from=ON)
    assert evaluate(inst, on=date(2026, 3, 1)) == []
    assert rules(evaluate(inst, on=ON)) == [("R-TIME-2", "end_time")]


def test_a_rule_not_yet_in_force_is_not_applied():
    # prepaid_max_amount holds from 2022-12-27 (教监管〔2022〕4号): a 2022 judgement knows no such cap.
    inst = institution()
    package(course(inst), price="6000.00")
    assert evaluate(inst, on=date(2022, 6, 1)) == []
    assert rules(evaluate(inst, on=date(2022, 12, 27))) == [("R-FEE-2", "price")]


# --- A fixed number of queries ---------------------------------------------------------------------------------------


def _institution_with_courses(n: int) -> Institution:
    inst = institution(category="subject", floor_area_m2=Decimal("50.00"), max_students_present=30)
    for i in range(n):
        c = course(inst, f"课程{i}", category="subject", mode="online" if i % 2 else "offline", minutes=45, min_age=5)
        package(c, hours=80, months=6)
        slot(c, weekday=5, end="21:30")
        slot(c, weekday=2)
        staff(inst, f"教师{i}", teacher_certificate_no="", full_time=bool(i % 3), in_service_teacher=i == 0)
    return inst


def test_evaluate_costs_the_same_queries_for_3_and_30_courses(django_assert_max_num_queries):
    counts = []
    evaluate(_institution_with_courses(1))  # the policy table is read once, then kept in the process (core.policy)
    for n in (3, 30):
        inst = _institution_with_courses(n)
        with CaptureQueriesContext(connection) as ctx:
            found = evaluate(inst)
        counts.append(len(ctx.captured_queries))
        assert {f.rule_id for f in found} >= {"R-FEE-1", "R-TIME-1", "R-TIME-2", "R-AGE-1", "R-STAFF-1", "R-SITE-1"}
    assert counts[0] == counts[1]
    # courses, packages, slots, staff, escrow, and at most 8 policy values
    big = _institution_with_courses(30)
    with django_assert_max_num_queries(13):
        evaluate(big)


# --- findings_for_change ---------------------------------------------------------------------------------------------


def change(inst, kind, action, current, **after):
    base = snapshot(kind, current) if current is not None else {}
    return policy.findings_for_change(inst, kind, action, current, as_json({**base, **after}) if after else base)


def test_change_package_create_over_the_caps_names_the_fields():
    inst = institution()
    c = course(inst)
    found = change(inst, "package", "create", None, course_id=c.pk, name="大包", hours=80, months=6, price="9000.00")
    assert sorted(rules(found)) == [("R-FEE-1", "hours"), ("R-FEE-1", "months"), ("R-FEE-2", "price")]
    assert all(f.object_id is None for f in found)
    assert change(inst, "package", "create", None, course_id=c.pk, name="小包", hours=20, months=2, price="2000") == []


def test_change_package_for_a_subject_course_has_no_amount_cap():
    inst = institution(category="subject")
    c = course(inst, category="subject")
    assert change(inst, "package", "create", None, course_id=c.pk, name="p", hours=60, months=3, price="9000") == []


def test_change_package_update_keeps_an_old_breach_but_a_new_value_must_comply():
    inst = institution()
    legacy = package(course(inst), hours=80)  # entered before the rule, or before a lower cap
    assert change(inst, "package", "update", legacy, name="改名") == []
    assert rules(change(inst, "package", "update", legacy, hours=70)) == [("R-FEE-1", "hours")]
    assert change(inst, "package", "update", legacy, hours=60) == []
    assert rules(change(inst, "package", "update", legacy, price="5200")) == [("R-FEE-2", "price")]


def test_change_deletions_introduce_nothing():
    inst = institution()
    legacy = package(course(inst), hours=80)
    assert policy.findings_for_change(inst, "package", "delete", legacy, {}) == []


def test_change_slot():
    inst = institution(category="subject")
    subject = course(inst, category="subject")
    online = course(inst, "线上", category="subject", mode="online", minutes=30)
    assert rules(
        change(inst, "slot", "create", None, course_id=subject.pk, weekday=6, start_time=time(9), end_time=time(10))
    ) == [("R-TIME-1", "weekday")]
    assert rules(
        change(
            inst, "slot", "create", None, course_id=subject.pk, weekday=1, start_time=time(19), end_time=time(20, 45)
        )
    ) == [("R-TIME-2", "end_time")]
    assert (
        change(inst, "slot", "create", None, course_id=online.pk, weekday=1, start_time=time(20), end_time=time(20, 45))
        == []
    )
    s = slot(subject, weekday=1, end="20:00")
    assert rules(change(inst, "slot", "update", s, end_time=time(20, 40))) == [("R-TIME-2", "end_time")]
    assert rules(change(inst, "slot", "update", s, weekday=5)) == [("R-TIME-1", "weekday")]


def test_change_course():
    inst = institution(mode="both")
    assert rules(
        change(
            inst,
            "course",
            "create",
            None,
            name="线上启蒙",
            category="arts",
            mode="online",
            min_age=4,
            max_age=6,
            class_minutes=25,
        )
    ) == [("R-AGE-1", "min_age")]
    assert rules(
        change(
            inst, "course", "create", None, name="线上长课", category="arts", mode="online", min_age=8, class_minutes=45
        )
    ) == [("R-TIME-2", "class_minutes")]
    assert rules(
        change(
            inst,
            "course",
            "create",
            None,
            name="学前数学",
            category="subject",
            mode="offline",
            min_age=3,
            max_age=5,
            class_minutes=40,
        )
    ) == [("R-AGE-1", "min_age")]
    assert (
        change(
            inst, "course", "create", None, name="美术", category="arts", mode="offline", min_age=4, class_minutes=60
        )
        == []
    )


def test_change_course_category_or_mode_judges_its_slots_and_packages_again():
    inst = institution(mode="both")
    c = course(inst, "编程", category="science")
    weekend = slot(c, weekday=6, start="09:00", end="10:00")
    slot(c, weekday=2, end="20:30")
    found = change(inst, "course", "update", c, category="subject")
    assert [(f.rule_id, f.field, f.object_type, f.object_id) for f in found] == [
        ("R-TIME-1", "category", "slot", weekend.pk)
    ]
    online = course(inst, "线上编程", category="science", mode="online", minutes=30)
    late = slot(online, weekday=2, start="20:00", end="20:50")
    found = change(inst, "course", "update", online, mode="offline")
    assert [(f.rule_id, f.field, f.object_id) for f in found] == [("R-TIME-2", "mode", late.pk)]
    assert change(inst, "course", "update", c, name="少儿编程") == []


def test_change_subject_course_back_to_non_subject_meets_the_amount_cap():
    inst = institution(category="subject")
    c = course(inst, category="subject")
    p = package(c, price="8000.00")
    found = change(inst, "course", "update", c, category="science")
    assert [(f.rule_id, f.field, f.object_id) for f in found] == [("R-FEE-2", "category", p.pk)]


def test_change_staff():
    subject_inst = institution(category="subject")
    assert rules(
        change(
            subject_inst,
            "staff",
            "create",
            None,
            name="新教师",
            role="teacher",
            teacher_certificate_no="",
            competence_proof="证明",
        )
    ) == [("R-STAFF-1", "teacher_certificate_no")]
    arts = institution()
    assert change(arts, "staff", "create", None, name="新教师", role="teacher", competence_proof="证明") == []
    found = change(
        arts, "staff", "create", None, name="在职", role="manager", in_service_teacher=True, precheck_result="failed"
    )
    assert sorted(rules(found)) == [("R-STAFF-2", "in_service_teacher"), ("R-STAFF-2", "precheck_result")]
    member = staff(arts, "老员工", teacher_certificate_no="", competence_proof="")  # on record before the rule
    assert change(arts, "staff", "update", member, precheck_result="passed") == []
    assert rules(change(arts, "staff", "update", member, in_service_teacher=True)) == [
        ("R-STAFF-2", "in_service_teacher")
    ]


def test_change_with_a_dated_value():
    inst = institution()
    c = course(inst)
    PolicyValueFactory(rule_id="R-FEE-2", key="prepaid_max_amount", value="3000.00", effective_from=ON)
    after = {"course_id": c.pk, "name": "p", "hours": 30, "months": 2, "price": "4000.00"}
    assert policy.findings_for_change(inst, "package", "create", None, after, on=date(2026, 3, 1)) == []
    (finding,) = policy.findings_for_change(inst, "package", "create", None, after, on=ON)
    assert finding.field == "price" and "3000.00" in finding.message("zh")


def test_the_service_refuses_a_breaking_change_naming_the_field(bureau_staff):
    from institutions.services import record_change

    inst = institution()
    c = course(inst)
    with pytest.raises(DomainError) as exc:
        record_change(
            actor=bureau_staff,
            institution_id=inst.pk,
            kind="package",
            action="create",
            data={"course_id": c.pk, "name": "年卡", "hours": 48, "months": 12, "price": "4800.00"},
        )
    assert exc.value.code == "institution.rule_broken" and exc.value.status == 422
    assert set(exc.value.fields) == {"months"}
    assert not FeePackage.objects.exists()
