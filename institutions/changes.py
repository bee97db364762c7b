"""Courses, fee packages, schedule slots and staff: how each kind of record is cleaned, shown and written.

The same functions serve a bureau edit (applied at once) and an institution's proposal (cleaned now, applied when
approved), so both go through the same checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from django.db import models
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.pii import id_number_hash, normalize_id_number

from .models import Category, ChangeProposal, Course, FeePackage, Institution, Mode, ScheduleSlot, StaffMember
from .validation import clean_money

Kind = ChangeProposal.Kind


def _text(data, name, errors, *, required=False, max_length=200, label=""):
    value = str(data.get(name) or "").strip()
    if required and not value:
        errors.add(name, format_lazy(_("{label}必填"), label=label or name))
    elif len(value) > max_length:
        errors.add(name, format_lazy(_("不超过 {max_length} 字"), max_length=max_length))
    return value[:max_length]


def _int(data, name, errors, *, required=False, minimum=None, maximum=None):
    raw = data.get(name)
    if raw in (None, ""):
        if required:
            errors.add(name, _("必填"))
        return None
    try:
        value = int(raw)
        if isinstance(raw, float) and raw != value:
            raise ValueError
    except (TypeError, ValueError):
        errors.add(name, _("应为整数"))
        return None
    if minimum is not None and value < minimum:
        errors.add(name, format_lazy(_("不能小于 {minimum}"), minimum=minimum))
    if maximum is not None and value > maximum:
        errors.add(name, format_lazy(_("不能大于 {maximum}"), maximum=maximum))
    return value


def _choice(data, name, choices, errors, *, default=None):
    value = data.get(name) or default
    if value not in dict(choices):
        errors.add(name, format_lazy(_("取值无效，可选：{choices}"), choices="、".join(dict(choices))))
        return None
    return value


def _bool(data, name, default=False):
    value = data.get(name, default)
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "是", "y"}
    return bool(value)


def _time(data, name, errors):
    raw = data.get(name)
    if isinstance(raw, time):
        return raw
    try:
        hours, minutes = str(raw).split(":")[:2]
        return time(int(hours), int(minutes))
    except (TypeError, ValueError):
        errors.add(name, _("时间格式应为 HH:MM"))
        return None


def _date(data, name, errors):
    raw = data.get(name)
    if raw in (None, ""):
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        errors.add(name, _("日期格式应为 YYYY-MM-DD"))
        return None


def _course_of(institution: Institution, data, errors) -> Course | None:
    course_id = _int(data, "course_id", errors, required=True)
    if course_id is None:
        return None
    course = Course.objects.filter(institution=institution, pk=course_id).first()
    if course is None:
        errors.add("course_id", _("本机构没有该课程"))
    return course


# --- Cleaning: input dict → model field values (never the raw ID number) ----------------------------------------


def clean_course(institution, data, errors, current=None) -> dict:
    values = {
        "name": _text(data, "name", errors, required=True, label=_("课程名称")),
        "subject": _text(data, "subject", errors, max_length=50),
        "category": _choice(data, "category", Category.choices, errors, default=institution.category),
        "mode": _choice(
            data,
            "mode",
            [(Mode.OFFLINE, ""), (Mode.ONLINE, "")],
            errors,
            default=Mode.ONLINE if institution.mode == Mode.ONLINE else Mode.OFFLINE,
        ),
        "min_age": _int(data, "min_age", errors, minimum=0, maximum=30),
        "max_age": _int(data, "max_age", errors, minimum=0, maximum=30),
        "grade_range": _text(data, "grade_range", errors, max_length=50),
        "class_minutes": _int(data, "class_minutes", errors, required=True, minimum=1, maximum=600),
    }
    if values["min_age"] is not None and values["max_age"] is not None and values["max_age"] < values["min_age"]:
        errors.add("max_age", _("最大年龄不能小于最小年龄"))
    return values


def clean_package(institution, data, errors, current=None) -> dict:
    course = (
        current.course if current is not None and "course_id" not in data else _course_of(institution, data, errors)
    )
    return {
        "course": course,
        "name": _text(data, "name", errors, required=True, max_length=100, label=_("套餐名称")),
        "hours": _int(data, "hours", errors, required=True, minimum=1),
        "months": _int(data, "months", errors, required=True, minimum=1, maximum=120),
        "price": clean_money(data.get("price"), errors, "price"),
    }


def clean_slot(institution, data, errors, current=None) -> dict:
    course = (
        current.course if current is not None and "course_id" not in data else _course_of(institution, data, errors)
    )
    values = {
        "course": course,
        "weekday": _int(data, "weekday", errors, required=True, minimum=0, maximum=6),
        "start_time": _time(data, "start_time", errors),
        "end_time": _time(data, "end_time", errors),
    }
    if values["start_time"] and values["end_time"] and values["end_time"] <= values["start_time"]:
        errors.add("end_time", _("结束时间须晚于开始时间"))
    return values


def clean_staff(institution, data, errors, current=None) -> dict:
    values = {
        "name": _text(data, "name", errors, required=True, max_length=50, label=_("姓名")),
        "role": _choice(data, "role", StaffMember.StaffRole.choices, errors, default=StaffMember.StaffRole.TEACHER),
        "full_time": _bool(data, "full_time", True),
        "teacher_certificate_no": _text(data, "teacher_certificate_no", errors, max_length=40),
        "competence_proof": _text(data, "competence_proof", errors),
        "in_service_teacher": _bool(data, "in_service_teacher"),
        "precheck_date": _date(data, "precheck_date", errors),
        "precheck_result": _choice(
            data, "precheck_result", StaffMember.Precheck.choices, errors, default=StaffMember.Precheck.PENDING
        ),
    }
    raw_id = data.get("id_number")
    hashed = data.get("_hashed_id")  # a stored proposal re-checked on approval: the raw number was never kept
    if not raw_id and hashed and hashed[0]:
        values["id_number_hash"], values["id_number_last4"] = hashed
    elif raw_id or current is None:
        number = normalize_id_number(raw_id)
        if number is None:
            errors.add("id_number", _("身份证号无效（18 位，含校验位）"))
        else:
            values["id_number_hash"] = id_number_hash(number)
            values["id_number_last4"] = number[-4:]
    return values


# --- Showing: a record as plain JSON values (for the proposal's before/after and its diff) ------------------------


def as_json(values: dict) -> dict:
    out = {}
    for key, value in values.items():
        if isinstance(value, models.Model):
            out[f"{key}_id"] = value.pk
        elif isinstance(value, time):
            out[key] = value.strftime("%H:%M")
        elif value is None or isinstance(value, (bool, int, str)):
            out[key] = value
        else:
            out[key] = str(value)
    return out


def snapshot(kind: str, obj) -> dict:
    spec = SPECS[kind]
    return as_json({name: getattr(obj, name) for name in spec.fields})


@dataclass(frozen=True)
class KindSpec:
    model: type[models.Model]
    clean: Callable[..., dict]
    fields: tuple[str, ...]
    owned: Callable[[Institution], Any]  # the institution's records of this kind


SPECS: dict[str, KindSpec] = {
    Kind.COURSE: KindSpec(
        Course,
        clean_course,
        ("name", "subject", "category", "mode", "min_age", "max_age", "grade_range", "class_minutes"),
        lambda inst: Course.objects.filter(institution=inst),
    ),
    Kind.PACKAGE: KindSpec(
        FeePackage,
        clean_package,
        ("course", "name", "hours", "months", "price"),
        lambda inst: FeePackage.objects.filter(course__institution=inst),
    ),
    Kind.SLOT: KindSpec(
        ScheduleSlot,
        clean_slot,
        ("course", "weekday", "start_time", "end_time"),
        lambda inst: ScheduleSlot.objects.filter(course__institution=inst),
    ),
    Kind.STAFF: KindSpec(
        StaffMember,
        clean_staff,
        (
            "name",
            "id_number_hash",
            "id_number_last4",
            "role",
            "full_time",
            "teacher_certificate_no",
            "competence_proof",
            "in_service_teacher",
            "precheck_date",
            "precheck_result",
        ),
        lambda inst: StaffMember.objects.filter(institution=inst),
    ),
}


def stored_values(kind: str, institution: Institution, cleaned_json: dict) -> dict:
    """A proposal's cleaned JSON back into model field values (foreign keys as ids)."""
    spec = SPECS[kind]
    values = {}
    for name in spec.fields:
        if f"{name}_id" in cleaned_json:
            values[f"{name}_id"] = cleaned_json[f"{name}_id"]
        elif name in cleaned_json:
            values[name] = cleaned_json[name]
    if kind in (Kind.COURSE, Kind.STAFF):
        values["institution"] = institution
    return values
