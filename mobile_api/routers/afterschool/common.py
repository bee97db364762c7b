"""Schemas and shapers shared by the after-school routers."""

from __future__ import annotations

from datetime import date as Date
from datetime import time as Time
from typing import Annotated

from ninja import Schema
from pydantic import AfterValidator, Field

from afterschool.schedule.models import WEEKDAY_LABELS, Application, Attendance, Programme, Session, Student
from core.money import fmt_optional

from ...schemas import ErrorOut


def _local_time(value: Time) -> Time:
    # Times of day are local (Asia/Shanghai); an offset would mean nothing for a weekly timetable.
    if value.tzinfo is not None:
        raise ValueError("Give a local time of day without an offset (e.g. 16:30)")
    return value


def hm(value: Time | None) -> str | None:
    """Times of day leave as "HH:MM" local time (JSON Schema's "time" format would demand an offset)."""
    return None if value is None else value.strftime("%H:%M")


LocalTime = Annotated[Time, AfterValidator(_local_time)]

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class StudentOut(Schema):
    id: int
    name: str
    grade: int
    class_id: int
    class_label: str


class ProgrammeOut(Schema):
    id: int
    school_id: int
    term_id: int
    name: str
    kind: str
    kind_label: str
    grade_min: int
    grade_max: int
    capacity: int
    is_free: bool
    fee_per_lesson: str | None


class SessionOut(Schema):
    id: int
    programme_id: int
    programme_name: str
    weekday: int
    weekday_label: str
    starts_at: str = Field(..., description="HH:MM, Asia/Shanghai")
    ends_at: str = Field(..., description="HH:MM, Asia/Shanghai")
    room: str | None
    room_id: int | None
    staff: str
    staff_kind: str
    needs_staff: bool
    first_date: Date
    last_date: Date


class ApplicationOut(Schema):
    id: int
    student: StudentOut
    programme_id: int
    programme_name: str
    status: str
    status_label: str
    priority: bool
    rank: int | None
    window_id: int | None
    lottery_number: int | None
    active_from: Date | None
    active_until_excl: Date | None
    note: str


class AttendanceOut(Schema):
    id: int
    session_id: int
    student_id: int
    date: Date
    mark: str
    mark_label: str
    left_at: str | None = Field(..., description="HH:MM")
    client_uuid: str
    corrected: bool
    correction_reason: str


def student_out(s: Student) -> dict:
    return {
        "id": s.pk,
        "name": s.name,
        "grade": s.school_class.grade,
        "class_id": s.school_class_id,
        "class_label": s.school_class.label,
    }


def programme_out(p: Programme) -> dict:
    return {
        "id": p.pk,
        "school_id": p.school_id,
        "term_id": p.term_id,
        "name": p.name,
        "kind": p.kind,
        "kind_label": p.get_kind_display(),
        "grade_min": p.grade_min,
        "grade_max": p.grade_max,
        "capacity": p.capacity,
        "is_free": p.is_free,
        "fee_per_lesson": fmt_optional(p.fee_per_lesson),
    }


def session_out(s: Session) -> dict:
    return {
        "id": s.pk,
        "programme_id": s.programme_id,
        "programme_name": s.programme.name,
        "weekday": s.weekday,
        "weekday_label": WEEKDAY_LABELS[s.weekday],
        "starts_at": hm(s.starts_at),
        "ends_at": hm(s.ends_at),
        "room": s.room.name if s.room_id else None,
        "room_id": s.room_id,
        "staff": s.staff.name if s.staff_id else "",
        "staff_kind": s.staff.kind if s.staff_id else "",
        "needs_staff": s.needs_staff,
        "first_date": s.first_date,
        "last_date": s.last_date,
    }


def application_out(a: Application) -> dict:
    return {
        "id": a.pk,
        "student": student_out(a.student),
        "programme_id": a.programme_id,
        "programme_name": a.programme.name,
        "status": a.status,
        "status_label": a.get_status_display(),
        "priority": a.priority,
        "rank": a.rank,
        "window_id": a.window_id,
        "lottery_number": a.lottery_number,
        "active_from": a.active_from,
        "active_until_excl": a.active_until_excl,
        "note": a.note,
    }


def attendance_out(a: Attendance) -> dict:
    return {
        "id": a.pk,
        "session_id": a.session_id,
        "student_id": a.student_id,
        "date": a.date,
        "mark": a.mark,
        "mark_label": a.get_mark_display(),
        "left_at": hm(a.left_at),
        "client_uuid": str(a.client_uuid),
        "corrected": a.corrected_at is not None,
        "correction_reason": a.correction_reason,
    }
