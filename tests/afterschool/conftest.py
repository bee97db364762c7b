"""After-school fixtures: school X with a term, a class of grade 3 and its class teacher, a room, and the child of
`parent`. Time stands on Wednesday 2026-11-25, 10:00 in Chongqing, inside the autumn term."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import Role
from afterschool.schedule.models import Application, Programme, Room, SchoolClass, Session, Staff, Student, Term
from tests.conftest import make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)  # a Wednesday
TODAY = NOW.date()
_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def _wednesday():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def term_x(school_x):
    return Term.objects.create(
        school=school_x, name="2026 秋季学期", starts_on=date(2026, 9, 1), ends_on=date(2026, 12, 31)
    )


@pytest.fixture
def term_y(school_y):
    return Term.objects.create(
        school=school_y, name="2026 秋季学期", starts_on=date(2026, 9, 1), ends_on=date(2026, 12, 31)
    )


@pytest.fixture
def teacher_x(school_x):
    return make_user("王老师", Role.TEACHER, school=school_x)


@pytest.fixture
def teacher_x2(school_x):
    return make_user("赵老师", Role.TEACHER, school=school_x)


@pytest.fixture
def teacher_y(school_y):
    return make_user("Y 老师", Role.TEACHER, school=school_y)


@pytest.fixture
def class_x(school_x, teacher_x):
    return SchoolClass.objects.create(school=school_x, grade=3, number=1, class_teacher=teacher_x)


@pytest.fixture
def class_x2(school_x, teacher_x2):
    return SchoolClass.objects.create(school=school_x, grade=3, number=2, class_teacher=teacher_x2)


@pytest.fixture
def room_x(school_x):
    return Room.objects.create(school=school_x, name="阅览室")


@pytest.fixture
def child(school_x, class_x, parent):
    s = Student.objects.create(school=school_x, school_class=class_x, name="张小明")
    s.guardians.add(parent)
    return s


@pytest.fixture
def other_child(school_x, class_x, other_parent):
    s = Student.objects.create(school=school_x, school_class=class_x, name="李小红")
    s.guardians.add(other_parent)
    return s


def make_student(school, klass, name=None, guardian=None, **extra) -> Student:
    s = Student.objects.create(school=school, school_class=klass, name=name or f"学生{next(_serial)}", **extra)
    if guardian is not None:
        s.guardians.add(guardian)
    return s


def make_programme(term, name=None, kind="reading", capacity=30, grade_min=1, grade_max=6, **extra) -> Programme:
    return Programme.objects.create(
        school=term.school,
        term=term,
        name=name or f"项目{next(_serial)}",
        kind=kind,
        capacity=capacity,
        grade_min=grade_min,
        grade_max=grade_max,
        **extra,
    )


def make_session(programme, teacher, weekday=2, start=(16, 0), end=(18, 0), room=None, **extra) -> Session:
    staff, _ = Staff.objects.get_or_create(school=programme.school, user=teacher, defaults={"name": teacher.name})
    return Session.objects.create(
        programme=programme,
        school=programme.school,
        weekday=weekday,
        starts_at=time(*start),
        ends_at=time(*end),
        room=room,
        staff=staff,
        first_date=extra.pop("first_date", programme.term.starts_on),
        last_date=extra.pop("last_date", programme.term.ends_on),
    )


def enrol(student, programme, active_from=date(2026, 9, 1)) -> Application:
    return Application.objects.create(
        student=student, programme=programme, status=Application.Status.APPROVED, active_from=active_from
    )
