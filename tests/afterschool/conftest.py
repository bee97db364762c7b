"""After-school fixtures: school X with a term, a class of grade 3 and its class teacher, a room, and the child of
`parent`. Time stands on Wednesday 2026-11-25, 10:00 in Chongqing, inside the autumn term."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import Role
from afterschool.schedule.models import Application, Programme, Session, Student
from tests.conftest import make_user
from tests.factories import (
    EnrolmentFactory,
    ProgrammeFactory,
    RoomFactory,
    SchoolClassFactory,
    SessionFactory,
    StaffFactory,
    StudentFactory,
    TermFactory,
)

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
    return TermFactory(school=school_x)


@pytest.fixture
def term_y(school_y):
    return TermFactory(school=school_y)


@pytest.fixture
def coach(db):
    """The outside coach who applies for admission in the admission tests."""
    return make_user("陈教练", phone="13900000001")


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
    return SchoolClassFactory(school=school_x, grade=3, number=1, class_teacher=teacher_x)


@pytest.fixture
def class_x2(school_x, teacher_x2):
    return SchoolClassFactory(school=school_x, grade=3, number=2, class_teacher=teacher_x2)


@pytest.fixture
def room_x(school_x):
    return RoomFactory(school=school_x, name="阅览室")


@pytest.fixture
def child(school_x, class_x, parent):
    return StudentFactory(school=school_x, school_class=class_x, name="张小明", guardians=[parent])


@pytest.fixture
def other_child(school_x, class_x, other_parent):
    return StudentFactory(school=school_x, school_class=class_x, name="李小红", guardians=[other_parent])


def make_student(school, klass, name=None, guardian=None, **extra) -> Student:
    if name is not None:
        extra["name"] = name
    return StudentFactory(school=school, school_class=klass, guardians=[guardian] if guardian else None, **extra)


def make_programme(term, name=None, kind="reading", capacity=30, grade_min=1, grade_max=6, **extra) -> Programme:
    if name is not None:
        extra["name"] = name
    return ProgrammeFactory(term=term, kind=kind, capacity=capacity, grade_min=grade_min, grade_max=grade_max, **extra)


def make_session(programme, teacher, weekday=2, start=(16, 0), end=(18, 0), room=None, **extra) -> Session:
    staff = StaffFactory(school=programme.school, user=teacher)
    return SessionFactory(
        programme=programme,
        weekday=weekday,
        starts_at=time(*start),
        ends_at=time(*end),
        room=room,
        staff=staff,
        **extra,
    )


def enrol(student, programme, active_from=date(2026, 9, 1)) -> Application:
    return EnrolmentFactory(student=student, programme=programme, active_from=active_from)
