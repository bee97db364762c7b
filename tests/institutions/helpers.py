"""Making registry data in tests: valid credit codes, institutions, courses."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from stdnum.cn import uscc

from institutions.models import Course, FeePackage, Institution, VerificationToken
from tests.conftest import TOWN_A, region

_serial = itertools.count(1)


def credit_code(n: int | None = None) -> str:
    """A valid unified social credit code (52 = 民办非企业单位, 500102 = Fuling)."""
    n = next(_serial) if n is None else n
    body = f"52500102MJ{n:07d}"[:17]
    body = body.replace("I", "1").replace("O", "0")
    return body + uscc.calc_check_digit(body)


def licence_number(n: int = 1) -> str:
    return f"教民150010270{n:06d}号"


def make_institution(name="测试培训学校", town=TOWN_A, status="licensed", **extra) -> Institution:
    values = {
        "credit_code": credit_code(),
        "licence_number": licence_number(),
        "licence_issued_on": date(2024, 9, 1),
        "licence_expires_on": date(2099, 8, 31),
        "category": "arts",
        "mode": "offline",
        "address": "涪陵区测试路 1 号",
        **extra,
    }
    inst = Institution.objects.create(name=name, town=region(town), status=status, **values)
    VerificationToken.objects.create(institution=inst)
    return inst


def make_course(inst: Institution, name="美术基础", category=None, mode="offline", minutes=60, **extra) -> Course:
    return Course.objects.create(
        institution=inst, name=name, category=category or inst.category, mode=mode, class_minutes=minutes, **extra
    )


def make_package(course: Course, hours=40, months=3, price="3000.00") -> FeePackage:
    return FeePackage.objects.create(
        course=course, name=f"{hours}课时", hours=hours, months=months, price=Decimal(price)
    )
