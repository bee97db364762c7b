"""Making registry data in tests: valid credit codes, institutions, courses."""

from __future__ import annotations

from decimal import Decimal

from institutions.models import Course, FeePackage, Institution
from tests.factories import TOWN_A as TOWN_A
from tests.factories import CourseFactory, FeePackageFactory, InstitutionFactory, region
from tests.factories import credit_code as credit_code  # the helpers of registry tests, in one place


def licence_number(n: int = 1) -> str:
    return f"教民150010270{n:06d}号"


def make_institution(name="测试培训学校", town=TOWN_A, status="licensed", **extra) -> Institution:
    extra.setdefault("licence_number", licence_number())
    return InstitutionFactory(name=name, town=region(town), status=status, **extra)


def make_course(inst: Institution, name="美术基础", category=None, mode="offline", minutes=60, **extra) -> Course:
    category = category or inst.category
    return CourseFactory(institution=inst, name=name, category=category, mode=mode, class_minutes=minutes, **extra)


def make_package(course: Course, hours=40, months=3, price="3000.00") -> FeePackage:
    return FeePackageFactory(course=course, hours=hours, months=months, price=Decimal(price))
