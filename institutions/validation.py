"""Field checks shared by the API, the bulk import and the services: each returns the clean value or raises one
DomainError naming the field, in Chinese and English."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from core.errors import DomainError
from core.money import MoneyError, is_exact, to_decimal

from .models import CHINA_LAT, CHINA_LNG

# 教民 + 13 to 15 digits + 号, loosely (POLICY.md R-ID: local forms vary).
LICENCE_RE = re.compile(r"^教民\d{13,15}号$")
PHONE_RE = re.compile(r"^[0-9+\-() ]{7,20}$")


class FieldErrors:
    """Collects every field's problem before refusing, so the caller sees them all at once."""

    def __init__(self):
        self.fields: dict[str, tuple[str, str]] = {}

    def add(self, name: str, zh: str, en: str) -> None:
        self.fields.setdefault(name, (zh, en))

    def __bool__(self):
        return bool(self.fields)

    def raise_if_any(self) -> None:
        if self.fields:
            raise DomainError(
                "request.invalid", _("输入有误，请检查各字段"), status=422, fields=self.fields
            )


def clean_credit_code(raw: str | None, errors: FieldErrors, field: str = "credit_code") -> str | None:
    if raw in (None, ""):
        return None
    value = str(raw).strip().upper()
    try:
        return uscc.validate(value)
    except StdnumError:
        errors.add(
            field, "统一社会信用代码无效（18 位，含校验位）", "Invalid unified social credit code (18 characters)"
        )
        return None


def clean_licence_number(raw: str | None, errors: FieldErrors, field: str = "licence_number") -> str:
    value = (raw or "").strip().replace(" ", "")
    if value and not LICENCE_RE.match(value):
        errors.add(
            field, "办学许可证号格式应为“教民”+13–15 位数字+“号”", "Licence number must look like 教民<13-15 digits>号"
        )
    return value


def clean_licence_dates(issued: date | None, expires: date | None, errors: FieldErrors) -> None:
    if issued and expires and expires <= issued:
        errors.add("licence_expires_on", "有效期须晚于发证日期", "The expiry date must be after the issue date")


def clean_coordinates(lat, lng, errors: FieldErrors) -> tuple[Decimal | None, Decimal | None]:
    if lat in (None, "") and lng in (None, ""):
        return None, None
    try:
        lat_d, lng_d = Decimal(str(lat)), Decimal(str(lng))
        if not (lat_d.is_finite() and lng_d.is_finite()):
            raise ValueError
    except (InvalidOperation, ValueError):
        errors.add("latitude", "坐标应为数字", "Coordinates must be numbers")
        return None, None
    if not (CHINA_LAT[0] <= lat_d <= CHINA_LAT[1]) or not (CHINA_LNG[0] <= lng_d <= CHINA_LNG[1]):
        errors.add("latitude", "坐标不在中国境内（纬度 3.8–53.6，经度 73.5–135.1）", "Coordinates outside China")
        return None, None
    return lat_d.quantize(Decimal("0.000001")), lng_d.quantize(Decimal("0.000001"))


def clean_contact_phone(raw: str | None, errors: FieldErrors) -> str:
    value = (raw or "").strip()
    if value and not PHONE_RE.match(value):
        errors.add("contact_phone", "联系电话格式不正确", "Invalid contact phone")
    return value


MONEY_MAX = Decimal("99999999.99")


def clean_money(
    raw, errors: FieldErrors, field: str, *, allow_zero: bool = True, maximum: Decimal = MONEY_MAX
) -> Decimal | None:
    try:
        # Read from its text: a JSON number or a spreadsheet cell may arrive as a float, never used as one.
        value = to_decimal(str(raw))
    except MoneyError:
        errors.add(field, "金额应为数字（元，最多两位小数）", "Amount must be a number of yuan")
        return None
    if not value.is_finite() or abs(value) > maximum:
        errors.add(field, f"数值超出范围（最大 {maximum}）", f"Out of range (at most {maximum})")
        return None
    if not is_exact(value):
        errors.add(field, "金额最多两位小数（精确到分）", "At most two decimals (to the fen)")
        return None
    if value < 0 or (value == 0 and not allow_zero):
        errors.add(field, "金额不能为负数" if value < 0 else "金额须大于零", "Amount must not be negative")
        return None
    return value
