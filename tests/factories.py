"""factory-boy factories: one per model that tests create, so a test says only what matters to it.

Every factory makes a valid row on its own (a licensed institution has its licence, a session its staff and term
dates); a test overrides the fields its rule is about. Regions are reference data loaded by a migration, never
made: `town=region(TOWN_A)`. Models are imported from each app's `models` module, which stays the same whatever
package inside the app holds them.
"""

from __future__ import annotations

import itertools
from datetime import date, time
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory
from stdnum.cn import uscc

from accounts.models import Membership, Region, User
from afterschool.models import Application, Programme, Room, School, SchoolClass, Session, Staff, Student, Term
from institutions.models import Course, FeePackage, Institution, VerificationToken

PASSWORD = "Correct-Horse-42"
TOWN_A = "500102006"  # 敦仁街道


def region(code: str) -> Region:
    """The current region of that code (the data migration's rows; reloaded if a transactional test flushed them)."""
    if not Region.objects.exists():
        import importlib

        from django.apps import apps

        importlib.import_module("accounts.migrations.0003_load_fuling_divisions").load(apps, None)
    return Region.objects.get(code=code, valid_to__isnull=True)


_serial = itertools.count(1)


def credit_code(n: int | None = None) -> str:
    """A valid unified social credit code (52 = 民办非企业单位, 500102 = Fuling); a new one each call without n."""
    n = next(_serial) if n is None else n
    body = f"52500102MJ{n:07d}"[:17].replace("I", "1").replace("O", "0")
    return body + uscc.calc_check_digit(body)


# --- accounts --------------------------------------------------------------------------------------------------


class UserFactory(DjangoModelFactory):
    """A user who signs in with PASSWORD; `phone` is None unless given."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"u{n:06d}")
    name = factory.Sequence(lambda n: f"用户{n}")
    phone = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        password = kwargs.pop("password", PASSWORD)
        return model_class.objects.create_user(*args, password=password, **kwargs)


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = "parent"


# --- institutions ----------------------------------------------------------------------------------------------


class InstitutionFactory(DjangoModelFactory):
    """A licensed arts institution of town A with a live QR token."""

    class Meta:
        model = Institution
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"测试培训学校{n}")
    town = factory.LazyFunction(lambda: region(TOWN_A))
    status = "licensed"
    credit_code = factory.LazyFunction(credit_code)
    licence_number = factory.Sequence(lambda n: f"教民150010270{n:06d}号")
    licence_issued_on = date(2024, 9, 1)
    licence_expires_on = date(2099, 8, 31)
    category = "arts"
    mode = "offline"
    address = "涪陵区测试路 1 号"

    @factory.post_generation
    def token(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            VerificationToken.objects.create(institution=obj)


class CourseFactory(DjangoModelFactory):
    class Meta:
        model = Course

    institution = factory.SubFactory(InstitutionFactory)
    name = "美术基础"
    category = factory.LazyAttribute(lambda o: o.institution.category)
    mode = "offline"
    class_minutes = 60


class FeePackageFactory(DjangoModelFactory):
    class Meta:
        model = FeePackage

    course = factory.SubFactory(CourseFactory)
    hours = 40
    months = 3
    name = factory.LazyAttribute(lambda o: f"{o.hours}课时")
    price = Decimal("3000.00")


# --- afterschool ----------------------------------------------------------------------------------------------


class SchoolFactory(DjangoModelFactory):
    class Meta:
        model = School

    name = factory.Sequence(lambda n: f"测试小学{n}")
    town = factory.LazyFunction(lambda: region(TOWN_A))


class TermFactory(DjangoModelFactory):
    """The autumn term of 2026."""

    class Meta:
        model = Term

    school = factory.SubFactory(SchoolFactory)
    name = "2026 秋季学期"
    starts_on = date(2026, 9, 1)
    ends_on = date(2026, 12, 31)


class SchoolClassFactory(DjangoModelFactory):
    class Meta:
        model = SchoolClass

    school = factory.SubFactory(SchoolFactory)
    grade = 3
    number = factory.Sequence(lambda n: n + 1)
    class_teacher = None


class RoomFactory(DjangoModelFactory):
    class Meta:
        model = Room

    school = factory.SubFactory(SchoolFactory)
    name = factory.Sequence(lambda n: f"教室{n}")


class StudentFactory(DjangoModelFactory):
    """A pupil of a class; `guardians=[user, ...]` links parents."""

    class Meta:
        model = Student
        skip_postgeneration_save = True

    school_class = factory.SubFactory(SchoolClassFactory)
    school = factory.LazyAttribute(lambda o: o.school_class.school)
    name = factory.Sequence(lambda n: f"学生{n}")

    @factory.post_generation
    def guardians(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.guardians.add(*extracted)


class ProgrammeFactory(DjangoModelFactory):
    class Meta:
        model = Programme

    term = factory.SubFactory(TermFactory)
    school = factory.LazyAttribute(lambda o: o.term.school)
    name = factory.Sequence(lambda n: f"项目{n}")
    kind = "reading"
    capacity = 30
    grade_min = 1
    grade_max = 6


class StaffFactory(DjangoModelFactory):
    """A school's staff row for a user (one per school and user)."""

    class Meta:
        model = Staff
        django_get_or_create = ("school", "user")

    school = factory.SubFactory(SchoolFactory)
    user = factory.SubFactory(UserFactory)
    name = factory.LazyAttribute(lambda o: o.user.name)


class SessionFactory(DjangoModelFactory):
    """A weekly session, Wednesdays 16:00-18:00 over the programme's term."""

    class Meta:
        model = Session

    programme = factory.SubFactory(ProgrammeFactory)
    school = factory.LazyAttribute(lambda o: o.programme.school)
    weekday = 2
    starts_at = time(16, 0)
    ends_at = time(18, 0)
    room = None
    staff = factory.SubFactory(StaffFactory, school=factory.SelfAttribute("..school"))
    first_date = factory.LazyAttribute(lambda o: o.programme.term.starts_on)
    last_date = factory.LazyAttribute(lambda o: o.programme.term.ends_on)


class EnrolmentFactory(DjangoModelFactory):
    """An approved place of a student on a programme."""

    class Meta:
        model = Application

    student = factory.SubFactory(StudentFactory)
    programme = factory.SubFactory(ProgrammeFactory)
    status = Application.Status.APPROVED
    active_from = date(2026, 9, 1)
