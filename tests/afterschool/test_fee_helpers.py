"""A small school term for the fee tests (no tests here): two weeks, 7–18 September 2026, ten school days.

- 作业辅导 (homework care, free programme: the term's rate): Mon + Wed by 王老师 (teacher_x), Tue by 赵老师
- 经典诵读 (reading): Thu by 赵老师 (weighted 1.5 in the plan)
- 美术 (arts): Fri by 马画师, an outside person admitted at 50.00 yuan a lesson
- Children: c1 (care + arts), c2 (care), c3 (care + reading)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from accounts.models import Role
from afterschool.schedule.models import Application, Attendance, Session, Staff, Student, Term
from tests.afterschool.conftest import make_programme, make_session, make_student
from tests.conftest import make_user
from tests.factories import (
    AdmissionFactory,
    EnrolmentFactory,
    OutsidePersonFactory,
    OutsideStaffFactory,
    SessionFactory,
    TermFactory,
)

TERM_START, TERM_END = date(2026, 9, 7), date(2026, 9, 18)


@dataclass
class Scene:
    term: Term
    care_mon: Session
    care_wed: Session
    care_tue: Session
    reading_thu: Session
    arts_fri: Session
    c1: Student
    c2: Student
    c3: Student
    outside_staff: Staff
    apps: dict


def outside_staff(school, name="马画师", rate="50.00", paid=True, seq=1) -> Staff:
    person = OutsidePersonFactory(name=name, id_last4=f"{seq:04d}")
    AdmissionFactory(person=person, school=school, status="admitted", paid=paid, fee_per_lesson=rate)
    return OutsideStaffFactory(school=school, outside_person=person)


def build_term(school, klass, teacher_a, teacher_b, parent) -> Scene:
    term = TermFactory(school=school, name="2026 秋季短学期", starts_on=TERM_START, ends_on=TERM_END)
    care = make_programme(term, "作业辅导", kind="homework_care")
    reading = make_programme(term, "经典诵读", kind="reading")
    arts = make_programme(term, "美术", kind="arts")
    o = outside_staff(school)
    care_mon = make_session(care, teacher_a, weekday=0)
    care_wed = make_session(care, teacher_a, weekday=2)
    care_tue = make_session(care, teacher_b, weekday=1)
    reading_thu = make_session(reading, teacher_b, weekday=3)
    arts_fri = SessionFactory(programme=arts, weekday=4, staff=o)
    c1 = make_student(school, klass, "张小明", guardian=parent)
    c2 = make_student(school, klass, "李小红")
    c3 = make_student(school, klass, "王小刚")
    apps = {}
    for child, programme in ((c1, care), (c1, arts), (c2, care), (c3, care), (c3, reading)):
        apps[(child.name, programme.name)] = EnrolmentFactory(
            student=child, programme=programme, active_from=TERM_START
        )
    return Scene(term, care_mon, care_wed, care_tue, reading_thu, arts_fri, c1, c2, c3, o, apps)


def take_attendance(scene: Scene, skip: set[tuple[int, date]] = frozenset()) -> int:
    """Attendance of every lesson of the term for the children on its roster (bulk, like a phone batch)."""
    rows = []
    day = TERM_START
    sessions = [scene.care_mon, scene.care_tue, scene.care_wed, scene.reading_thu, scene.arts_fri]
    while day <= TERM_END:
        for s in sessions:
            if s.weekday != day.weekday() or (s.pk, day) in skip:
                continue
            roster = Application.objects.filter(programme_id=s.programme_id, active_from__lte=day).exclude(
                active_until_excl__lte=day
            )
            for app in roster:
                rows.append(
                    Attendance(session=s, student_id=app.student_id, date=day, mark="present", client_uuid=uuid.uuid4())
                )
        day += timedelta(days=1)
    Attendance.objects.bulk_create(rows)
    return len(rows)


def bureau_of_town(town) -> object:
    return make_user("镇街教管中心", Role.BUREAU_STAFF, region=town)
