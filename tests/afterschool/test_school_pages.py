"""The school admin's scheduling pages (issue 19): terms, rooms, the class list (xlsx import, one by one),
programmes, the timetable editor with its inline check, staff assignment, windows and the lottery, approvals,
rosters and attendance gaps. Another school's admin, a teacher or a parent gets 404; bad input gets a clear
message and nothing half-done."""

from __future__ import annotations

from datetime import date, timedelta
from io import BytesIO

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from accounts.models import Role
from afterschool.schedule.models import (
    Application,
    ChoiceWindow,
    GuardianPhone,
    Programme,
    Room,
    SchoolClass,
    Session,
    Student,
    Term,
)
from core.models import AuditEvent
from tests.afterschool.conftest import TODAY, enrol, make_programme, make_session, make_student
from tests.conftest import client_for, make_user
from tests.factories import AdmissionFactory, OutsideStaffFactory, StudentFactory

pytestmark = pytest.mark.django_db


def url(name, school, *args) -> str:
    return reverse(name, args=(school.pk, *args))


def xlsx(rows, header=("年级", "班级", "姓名", "监护人手机", "留守儿童")) -> BytesIO:
    wb = Workbook()
    ws = wb.active
    ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    buf = BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name = "名单.xlsx"
    return buf


# --- Scope ------------------------------------------------------------------------------------------------------------


PAGES = [
    "school-home",
    "school-terms",
    "school-rooms",
    "school-students",
    "school-students-import",
    "school-student-new",
    "school-programmes",
    "school-windows",
    "school-applications",
    "school-rosters",
    "school-gaps",
]


def test_every_page_answers_its_school_admin(school_admin_x, term_x):
    c = client_for(school_admin_x)
    for name in PAGES:
        r = c.get(url(name, term_x.school))
        assert r.status_code == 200, name
    assert c.get(url("school-timetable-edit", term_x.school, term_x.pk)).status_code == 200


def test_another_schools_admin_a_teacher_and_a_parent_get_404(school_admin_y, teacher_x, parent, term_x, child):
    for user in (school_admin_y, teacher_x, parent):
        c = client_for(user)
        for name in PAGES:
            assert c.get(url(name, term_x.school)).status_code == 404, (user, name)
        assert c.get(url("school-timetable-edit", term_x.school, term_x.pk)).status_code == 404


def test_objects_of_another_school_answer_404_even_under_ones_own_school(
    school_admin_x, school_x, term_x, term_y, school_y, teacher_y
):
    p_y = make_programme(term_y, "Y 项目")
    s_y = make_session(p_y, teacher_y)
    kid_y = StudentFactory(school=school_y, school_class=SchoolClass.objects.create(school=school_y, grade=3, number=1))
    c = client_for(school_admin_x)
    assert c.get(url("school-timetable-edit", school_x, term_y.pk)).status_code == 404
    assert c.get(url("school-programme", school_x, p_y.pk)).status_code == 404
    assert c.get(url("school-student", school_x, kid_y.pk)).status_code == 404
    assert c.get(url("school-session-staff", school_x, s_y.pk)).status_code == 404
    assert c.post(url("school-session-delete", school_x, s_y.pk)).status_code == 404
    assert Session.objects.filter(pk=s_y.pk).exists()


def test_anonymous_is_sent_to_sign_in(term_x):
    r = Client().get(url("school-home", term_x.school))
    assert r.status_code == 302 and "/login/" in r["Location"]


# --- Terms and rooms --------------------------------------------------------------------------------------------------


def test_a_term_overlapping_another_is_warned_about_and_made_only_once_confirmed(school_admin_x, term_x):
    c = client_for(school_admin_x)
    data = {"name": "2026 冬令营", "starts_on": "2026-12-01", "ends_on": "2027-01-20"}
    r = c.post(url("school-terms", term_x.school), data)
    html = r.content.decode()
    assert r.status_code == 422 and 'data-testid="overlap-warning"' in html and term_x.name in html
    assert not Term.objects.filter(name="2026 冬令营").exists()
    r = c.post(url("school-terms", term_x.school), {**data, "confirm_overlap": "on"}, follow=True)
    assert Term.objects.filter(name="2026 冬令营").exists()
    assert "日期重叠" in r.content.decode()
    # The timetable editor says which term it shows and that another overlaps it.
    new = Term.objects.get(name="2026 冬令营")
    html = c.get(url("school-timetable-edit", term_x.school, new.pk)).content.decode()
    assert 'data-testid="shown-term"' in html and "2026 冬令营" in html and 'data-testid="term-overlap"' in html


def test_a_term_with_bad_dates_is_refused_with_the_field_named(school_admin_x, school_x):
    c = client_for(school_admin_x)
    r = c.post(url("school-terms", school_x), {"name": "X", "starts_on": "2027-02-30", "ends_on": "2027-01-01"})
    assert r.status_code == 422 and 'data-testid="error-starts_on"' in r.content.decode()
    r = c.post(url("school-terms", school_x), {"name": "X", "starts_on": "2027-03-01", "ends_on": "2027-02-01"})
    assert r.status_code == 422 and "结束日期早于开始日期" in r.content.decode()
    assert not Term.objects.filter(school=school_x).exists()


def test_rooms_are_added_and_a_duplicate_is_refused(school_admin_x, school_x):
    c = client_for(school_admin_x)
    assert c.post(url("school-rooms", school_x), {"name": "操场", "seats": "200"}).status_code == 302
    r = c.post(url("school-rooms", school_x), {"name": "操场"})
    assert r.status_code == 422 and "已有同名场地" in r.content.decode()
    assert Room.objects.filter(school=school_x).count() == 1


def test_a_room_with_a_bad_name_or_seat_count_is_refused_whole(school_admin_x, school_x):
    c = client_for(school_admin_x)
    for data, message in [
        ({"name": "体育馆", "seats": "0"}, "座位数应为 1–5000 的整数"),
        ({"name": "体育馆", "seats": "十"}, "座位数应为 1–5000 的整数"),
        ({"name": "长" * 51, "seats": "30"}, "不超过 50 字"),  # refused, not cut to 50 characters
    ]:
        r = c.post(url("school-rooms", school_x), data)
        assert r.status_code == 422 and message in r.content.decode(), data
    assert not Room.objects.filter(school=school_x).exists()


# --- The class list ---------------------------------------------------------------------------------------------------


def test_a_class_list_is_imported_with_guardians_phones_and_registered_parents_linked(school_admin_x, school_x, parent):
    c = client_for(school_admin_x)
    sheet = xlsx([(3, 1, "王一", f"{parent.phone}，13911112222", "是"), ("三年级", "2班", "王二", "13911113333", "")])
    r = c.post(url("school-students-import", school_x), {"file": sheet})
    assert r.status_code == 302
    one = Student.objects.get(name="王一")
    assert one.left_behind and one.school_class.label == "三年级1班"
    assert set(GuardianPhone.objects.filter(student=one).values_list("phone", flat=True)) == {
        parent.phone,
        "13911112222",
    }
    assert list(one.guardians.all()) == [parent]
    assert Student.objects.get(name="王二").school_class.number == 2
    assert AuditEvent.objects.filter(verb="afterschool.class_list_imported").count() == 1
    html = c.get(url("school-students", school_x)).content.decode()
    assert html.count('data-testid="student-row"') == 2 and "139****2222" in html


def test_bad_rows_are_each_listed_with_line_and_column_and_nothing_is_imported(school_admin_x, school_x):
    existing = make_student(school_x, SchoolClass.objects.create(school=school_x, grade=3, number=1), name="老生")
    sheet = xlsx(
        [
            (3, 1, "好学生", "13911112222", ""),
            (3, 1, "坏手机", "1391111", ""),
            (8, 1, "错年级", "13911112222", ""),
            (3, 1, "老生", "13911112222", ""),
            (4, 2, "重名", "13911112222", ""),
            (4, 2, "重名", "13911112223", ""),
            (4, "甲", "", "13911112222", ""),
        ]
    )
    r = client_for(school_admin_x).post(url("school-students-import", school_x), {"file": sheet})
    html = r.content.decode()
    assert r.status_code == 422
    assert html.count('data-testid="row-error"') == 6
    for line, column in [(3, "监护人手机"), (4, "年级"), (5, "姓名"), (7, "姓名"), (8, "班级"), (8, "姓名")]:
        assert f'<td data-label="行">{line}</td><td data-label="列">{column}</td>' in html, (line, column)
    assert "与第 6 行重复" in html and "该班已有同名学生" in html
    assert list(Student.objects.filter(school=school_x)) == [existing]
    assert not GuardianPhone.objects.exists()


def test_a_file_that_is_not_xlsx_or_lacks_columns_is_refused(school_admin_x, school_x):
    c = client_for(school_admin_x)
    bad = BytesIO(b"name,phone\n")
    bad.name = "x.csv"
    r = c.post(url("school-students-import", school_x), {"file": bad})
    assert r.status_code == 415 and "请上传 xlsx 表格" in r.content.decode()
    r = c.post(url("school-students-import", school_x), {"file": xlsx([("王一",)], header=("姓名",))})
    assert r.status_code == 422 and "缺少列" in r.content.decode()


def test_a_student_is_edited_one_by_one(school_admin_x, school_x, class_x, class_x2, child):
    c = client_for(school_admin_x)
    r = c.post(
        url("school-student", school_x, child.pk),
        {"name": "张小明", "class_id": class_x2.pk, "guardian_phones": "1380000", "is_active": "on"},
    )
    assert r.status_code == 422 and "手机号格式有误" in r.content.decode()
    r = c.post(
        url("school-student", school_x, child.pk),
        {"name": "张晓明", "class_id": class_x2.pk, "guardian_phones": "13800000001 13811110000", "is_active": "on"},
    )
    assert r.status_code == 302
    child.refresh_from_db()
    assert child.name == "张晓明" and child.school_class == class_x2
    assert set(child.guardian_phones.values_list("phone", flat=True)) == {"13800000001", "13811110000"}
    new = {"name": "张晓明", "class_id": class_x2.pk, "guardian_phones": "13811110000"}
    r = c.post(url("school-student-new", school_x), new)
    assert r.status_code == 422 and "该班已有同名学生" in r.content.decode()


# --- Programmes -------------------------------------------------------------------------------------------------------


def test_a_programme_is_made_and_its_capacity_cannot_fall_below_the_children_enrolled(
    school_admin_x, term_x, child, other_child
):
    c = client_for(school_admin_x)
    r = c.post(
        url("school-programmes", term_x.school),
        {"term": term_x.pk, "name": "围棋", "kind": "clubs", "grade_min": "1", "grade_max": "6", "capacity": "20",
         "is_free": "on"},
    )  # fmt: skip
    assert r.status_code == 302
    p = Programme.objects.get(name="围棋")
    enrol(child, p)
    enrol(other_child, p)
    r = c.post(url("school-programme", term_x.school, p.pk), {"capacity": "1", "name": "围棋"})
    assert r.status_code == 422 and "名额不能少于已录取的 2 人" in r.content.decode()
    p.refresh_from_db()
    assert p.capacity == 20
    assert c.post(url("school-programme", term_x.school, p.pk), {"capacity": "2", "name": "围棋"}).status_code == 302
    p.refresh_from_db()
    assert p.capacity == 2


def test_a_programme_with_three_decimals_or_no_fee_is_refused(school_admin_x, term_x):
    r = client_for(school_admin_x).post(
        url("school-programmes", term_x.school),
        {"term": term_x.pk, "name": "美术", "kind": "arts", "grade_min": "1", "grade_max": "6", "capacity": "20"},
    )
    assert r.status_code == 422 and "收费项目须填写每次课收费" in r.content.decode()


# --- The timetable editor and its inline check ------------------------------------------------------------------------


def _check(c, school, term, **params):
    return c.get(url("school-timetable-check", school, term.pk), params)


def test_the_inline_check_names_a_teacher_clash_before_saving_and_saves_nothing(
    school_admin_x, term_x, teacher_x, room_x
):
    busy = make_programme(term_x, "阅读社")
    make_session(busy, teacher_x, weekday=2, room=room_x)
    new = make_programme(term_x, "合唱")
    c = client_for(school_admin_x)
    before = Session.objects.count()
    r = _check(c, term_x.school, term_x, programme=new.pk, weekdays=["2"], starts_at="17:00", ends_at="18:30",
               staff=f"t{teacher_x.pk}")  # fmt: skip
    html = r.content.decode()
    assert r.status_code == 200 and 'data-testid="check-problem"' in html
    assert "时间冲突" in html and "阅读社" in html and 'data-field="staff"' in html
    r = _check(c, term_x.school, term_x, programme=new.pk, weekdays=["1"], starts_at="17:00", ends_at="18:30",
               staff=f"t{teacher_x.pk}", room=str(room_x.pk))  # fmt: skip
    assert 'data-testid="check-ok"' in r.content.decode()
    r = _check(c, term_x.school, term_x, programme=new.pk, weekdays=["1"], starts_at="18:00", ends_at="17:00",
               staff=f"t{teacher_x.pk}")  # fmt: skip
    assert "结束时间须晚于开始时间" in r.content.decode()
    assert Session.objects.count() == before
    assert not AuditEvent.objects.filter(verb="afterschool.session_created").exists()


def test_the_inline_check_names_a_room_clash_and_shows_the_five_plus_two_report(
    school_admin_x, term_x, teacher_x, teacher_x2, room_x
):
    make_session(make_programme(term_x, "阅读社"), teacher_x, weekday=0, room=room_x)
    new = make_programme(term_x, "合唱")
    c = client_for(school_admin_x)
    r = _check(c, term_x.school, term_x, programme=new.pk, weekdays=["0"], starts_at="16:30", ends_at="17:00",
               staff=f"t{teacher_x2.pk}", room=str(room_x.pk))  # fmt: skip
    assert "场地“阅览室”" in r.content.decode()
    r = _check(c, term_x.school, term_x, programme=new.pk, weekdays=["1", "2", "3", "4"], starts_at="16:00",
               ends_at="18:00", staff=f"t{teacher_x2.pk}")  # fmt: skip
    html = r.content.decode()
    assert 'data-testid="check-ok"' in html and 'data-testid="check-policy-ok"' in html
    r = _check(c, term_x.school, term_x, programme=new.pk, weekdays=["1"], starts_at="16:00", ends_at="17:00",
               staff=f"t{teacher_x2.pk}")  # fmt: skip
    html = r.content.decode()
    assert 'data-testid="check-policy"' in html and "周五没有课后服务" in html


def test_sessions_are_saved_from_a_weekly_pattern_and_a_clash_is_refused_on_save_too(
    school_admin_x, term_x, teacher_x, room_x
):
    p = make_programme(term_x, "合唱")
    c = client_for(school_admin_x)
    data = {"programme": p.pk, "weekdays": ["0", "1", "2", "3", "4"], "starts_at": "16:00", "ends_at": "18:00",
            "staff": f"t{teacher_x.pk}", "room": str(room_x.pk)}  # fmt: skip
    r = c.post(url("school-timetable-edit", term_x.school, term_x.pk), data)
    assert r.status_code == 302
    assert Session.objects.filter(programme=p).count() == 5
    other = make_programme(term_x, "书法")
    r = c.post(url("school-timetable-edit", term_x.school, term_x.pk), {**data, "programme": other.pk})
    assert r.status_code == 422 and "时间冲突" in r.content.decode()
    assert not Session.objects.filter(programme=other).exists()
    html = c.get(url("school-timetable-edit", term_x.school, term_x.pk)).content.decode()
    assert html.count('data-testid="edit-session"') == 5 and 'data-testid="policy-ok"' in html


def test_a_session_outside_the_term_is_refused_with_the_reason(school_admin_x, term_x, teacher_x):
    p = make_programme(term_x, "合唱")
    r = client_for(school_admin_x).post(
        url("school-timetable-edit", term_x.school, term_x.pk),
        {"programme": p.pk, "weekdays": ["0"], "starts_at": "16:00", "ends_at": "18:00", "staff": f"t{teacher_x.pk}",
         "first_date": "2026-08-01"},
    )  # fmt: skip
    assert r.status_code == 422 and "上课日期须在学期内" in r.content.decode()


# --- Staff ------------------------------------------------------------------------------------------------------------


def test_the_picker_shows_admission_status_and_expiry_and_offers_only_who_may_teach(
    school_admin_x, school_x, term_x, teacher_x
):
    admitted = OutsideStaffFactory(school=school_x, outside_person__name="陈教练")
    lapsed = OutsideStaffFactory(school=school_x, outside_person__name="林教练")
    lapsed.outside_person.admissions.update(status="suspended")
    AdmissionFactory(person=lapsed.outside_person, school=school_x, status="expired",
                     valid_from=date(2025, 1, 1), valid_until=date(2025, 12, 31))  # fmt: skip
    p = make_programme(term_x, "篮球")
    s = make_session(p, teacher_x, weekday=1)
    c = client_for(school_admin_x)
    html = c.get(url("school-session-staff", school_x, s.pk)).content.decode()
    until = admitted.outside_person.admissions.get().valid_until
    assert "陈教练" in html and "已准入" in html and f"有效期至 {until:%Y-%m-%d}" in html
    assert f'value="o{lapsed.outside_person_id}" disabled' in html
    assert f'value="o{admitted.outside_person_id}">' in html
    r = c.post(url("school-session-staff", school_x, s.pk), {"staff": f"o{lapsed.outside_person_id}"})
    assert r.status_code == 422
    r = c.post(url("school-session-staff", school_x, s.pk), {"staff": f"o{admitted.outside_person_id}"})
    assert r.status_code == 302
    s.refresh_from_db()
    assert s.staff == admitted and not s.needs_staff
    assert AuditEvent.objects.filter(verb="afterschool.session_staff_assigned").exists()


def test_teachers_with_the_same_name_are_told_apart_by_their_class(school_admin_x, school_x, term_x):
    a = make_user("王芳", Role.TEACHER, school=school_x)
    b = make_user("王芳", Role.TEACHER, school=school_x)
    SchoolClass.objects.create(school=school_x, grade=2, number=1, class_teacher=a)
    html = client_for(school_admin_x).get(url("school-timetable-edit", school_x, term_x.pk)).content.decode()
    assert "王芳（二年级1班）" in html
    assert f"王芳（{b.masked_phone}）" in html


# --- Windows, the lottery, approvals ----------------------------------------------------------------------------------


def test_a_window_is_opened_and_the_lottery_run_with_its_seed_results_and_waitlist(
    school_admin_x, school_x, term_x, class_x, parent
):
    p = make_programme(term_x, "机器人", capacity=2)
    c = client_for(school_admin_x)
    r = c.post(
        url("school-windows", school_x),
        {"term": term_x.pk, "name": "热门项目", "programme_ids": [p.pk], "opens_at": "2026-11-20T08:00",
         "closes_at": "2026-11-30T18:00"},
    )  # fmt: skip
    assert r.status_code == 302
    window = ChoiceWindow.objects.get(name="热门项目")
    kids = [make_student(school_x, class_x, name=f"孩子{i}") for i in range(5)]
    Application.objects.bulk_create(
        Application(student=k, programme=p, window=window, rank=1, status="choice", priority=(i == 4))
        for i, k in enumerate(kids)
    )
    r = c.post(url("school-window", school_x, window.pk), {"seed": "12345"})
    assert r.status_code == 302
    html = c.get(url("school-window", school_x, window.pk)).content.decode()
    assert "12345" in html and 'data-testid="lottery-summary"' in html
    assert html.count("<li>") >= 3  # the waitlist, in order
    window.refresh_from_db()
    assert window.seed == 12345 and window.status == "allocated"
    assert Application.objects.get(student=kids[4], programme=p).status == "approved"  # the left-behind child first
    r = c.post(url("school-window", school_x, window.pk), {"seed": "1"})
    assert r.status_code == 409 and "已分配" in r.content.decode()


def test_applications_filter_by_window_and_term_page_beyond_100_and_are_approved(
    school_admin_x, school_x, term_x, class_x
):
    p = make_programme(term_x, "阅读", capacity=500)
    window = ChoiceWindow.objects.create(
        school=school_x, term=term_x, name="W", opens_at="2026-11-01T00:00+08:00", closes_at="2026-12-01T00:00+08:00"
    )
    kids = Student.objects.bulk_create(
        [Student(school=school_x, school_class=class_x, name=f"学生{i:03d}") for i in range(130)]
    )
    Application.objects.bulk_create(
        [Application(student=k, programme=p, status="pending") for k in kids[:120]]
        + [Application(student=k, programme=p, status="choice", window=window, rank=1) for k in kids[120:]]
    )
    c = client_for(school_admin_x)
    base = url("school-applications", school_x)
    html = c.get(base, {"term": term_x.pk}).content.decode()
    assert 'data-testid="list-count">130<' in html and html.count('data-testid="application-row"') == 50
    html = c.get(base, {"term": term_x.pk, "page": 3}).content.decode()
    assert html.count('data-testid="application-row"') == 30
    html = c.get(base, {"term": term_x.pk, "window": window.pk}).content.decode()
    assert 'data-testid="list-count">10<' in html
    html = c.get(base, {"term": term_x.pk, "window": "0", "status": "pending"}).content.decode()
    assert 'data-testid="list-count">120<' in html
    first = Application.objects.filter(status="pending").order_by("created_at", "id").first()
    r = c.post(reverse("school-application-decide", args=(school_x.pk, first.pk)), {"action": "approve"})
    assert r.status_code == 302
    first.refresh_from_db()
    assert first.status == "approved"


def test_the_api_filters_applications_by_window_and_term_and_pages_beyond_100(
    school_admin_x, school_x, term_x, class_x, api_as
):
    p = make_programme(term_x, "阅读", capacity=500)
    other_term = Term.objects.create(school=school_x, name="2027 春", starts_on=date(2027, 2, 20),
                                     ends_on=date(2027, 6, 30))  # fmt: skip
    q = make_programme(other_term, "书法")
    kids = Student.objects.bulk_create(
        [Student(school=school_x, school_class=class_x, name=f"学生{i:03d}") for i in range(130)]
    )
    Application.objects.bulk_create([Application(student=k, programme=p) for k in kids[:125]])
    Application.objects.bulk_create([Application(student=k, programme=q) for k in kids[125:]])
    api = api_as(school_admin_x)
    r = api.get("afterschool/applications", {"term_id": term_x.pk, "page_size": 100, "page": 2})
    assert r.status_code == 200 and r.json()["count"] == 125 and len(r.json()["items"]) == 25
    r = api.get("afterschool/applications", {"term_id": other_term.pk})
    assert r.json()["count"] == 5
    assert api.get("afterschool/applications", {"window_id": 0}).json()["count"] == 130


# --- Rosters and gaps -------------------------------------------------------------------------------------------------


def test_rosters_list_each_programme_with_the_children_on_it(school_admin_x, school_x, term_x, child):
    p = make_programme(term_x, "阅读")
    enrol(child, p)
    html = client_for(school_admin_x).get(url("school-rosters", school_x)).content.decode()
    assert reverse("afterschool-roster", args=(p.pk,)) in html and "1 / 30 人" in html


def test_attendance_gaps_page_and_api_default_to_the_allocations_up_to_date(
    school_admin_x, school_x, term_x, teacher_x, child, api_as
):
    from afterschool.fees.models import AllocationRun

    p = make_programme(term_x, "阅读")
    s = make_session(p, teacher_x, weekday=2)  # Wednesdays: today is one
    enrol(child, p, active_from=TODAY - timedelta(days=7))
    c = client_for(school_admin_x)
    html = c.get(url("school-gaps", school_x)).content.decode()
    yesterday = TODAY - timedelta(days=1)
    assert f'value="{yesterday:%Y-%m-%d}"' in html
    assert html.count('data-testid="gap-row"') == 1  # last Wednesday
    # A draft allocation counted up to today: the gaps (page and API) now list today's lesson too.
    AllocationRun.objects.create(school=school_x, term=term_x, until=TODAY, created_by=school_admin_x)
    html = c.get(url("school-gaps", school_x)).content.decode()
    assert html.count('data-testid="gap-row"') == 2 and f'value="{TODAY:%Y-%m-%d}"' in html
    gaps = api_as(school_admin_x).get(f"fees/terms/{term_x.pk}/attendance-gaps").json()
    assert [g["date"] for g in gaps] == [str(TODAY - timedelta(days=7)), str(TODAY)]
    assert all(g["session_id"] == s.pk for g in gaps)


# --- The menu ---------------------------------------------------------------------------------------------------------


def test_the_school_admin_menu_links_the_scheduling_home_which_links_every_page(school_admin_x, school_x, term_x):
    c = client_for(school_admin_x)
    home = c.get("/").content.decode()
    assert url("school-home", school_x) in home
    html = c.get(url("school-home", school_x)).content.decode()
    for name in PAGES[1:]:
        if name in ("school-students-import", "school-student-new"):
            continue
        assert url(name, school_x) in html, name
    assert url("school-timetable-edit", school_x, term_x.pk) in html
