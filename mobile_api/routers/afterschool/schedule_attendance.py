"""Attendance from the teacher's phone: the day's sessions with rosters, batches with client UUIDs (a batch sent
twice, or sent after a day offline, is stored once), and corrections with a reason."""

from __future__ import annotations

from datetime import date as Date
from typing import Literal
from uuid import UUID

from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from afterschool.schedule import attendance
from afterschool.schedule.models import Attendance

from ...schemas import MAX_ID
from .common import (
    ERRORS,
    AttendanceOut,
    LocalTime,
    SessionOut,
    StudentOut,
    attendance_out,
    session_out,
    student_out,
)

router = Router()

MarkCode = Literal[tuple(Attendance.Mark.values)]  # type: ignore[valid-type]


class RosterEntry(Schema):
    student: StudentOut
    attendance: AttendanceOut | None


class MySession(Schema):
    session: SessionOut
    date: Date
    roster: list[RosterEntry]


class DayFilter(Schema):
    date: Date | None = Field(None, description="默认今天 / today by default")


@router.get(
    "/my-sessions",
    response={200: list[MySession], **ERRORS},
    summary="我今天的课时与名单 My sessions of a day, with rosters (teachers)",
)
def my_sessions(request, filters: Query[DayFilter]):
    day = filters.date or timezone.localdate()
    return [
        {
            "session": session_out(item["session"]),
            "date": day,
            "roster": [
                {
                    "student": student_out(e["student"]),
                    "attendance": attendance_out(e["attendance"]) if e["attendance"] else None,
                }
                for e in item["roster"]
            ],
        }
        for item in attendance.my_sessions(actor=request.auth, day=day)
    ]


class MarkIn(Schema):
    client_uuid: UUID
    session_id: int = Field(..., ge=1, le=MAX_ID)
    student_id: int = Field(..., ge=1, le=MAX_ID)
    date: Date
    mark: MarkCode
    left_at: LocalTime | None = None


class BatchIn(Schema):
    records: list[MarkIn] = Field(..., min_length=1, max_length=attendance.MAX_BATCH)


class BatchResult(Schema):
    client_uuid: UUID
    id: int
    result: Literal["created", "unchanged", "updated"]


@router.post(
    "/attendance/batch",
    response={200: list[BatchResult], **ERRORS},
    summary="批量登记考勤（可离线后补发，幂等）Record attendance in a batch (idempotent by client UUID)",
)
def record_batch(request, payload: BatchIn):
    records = [attendance.MarkIn(**r.dict()) for r in payload.records]
    results = attendance.attendance_record_batch(actor=request.auth, records=records)
    return [{"client_uuid": r["client_uuid"], "id": r["id"], "result": r["result"]} for r in results]


class CorrectionIn(Schema):
    mark: MarkCode
    left_at: LocalTime | None = None
    reason: str = Field(
        ..., min_length=attendance.CORRECTION_REASON_MIN, max_length=attendance.CORRECTION_REASON_MAX
    )


@router.post(
    "/attendance/{attendance_id}/correction",
    response={200: AttendanceOut, **ERRORS},
    summary="更正考勤（须说明原因）Correct a mark, with a reason",
)
def correct(request, payload: CorrectionIn, attendance_id: int):
    row = attendance.attendance_correct(actor=request.auth, attendance_id=attendance_id, **payload.dict())
    return attendance_out(row)
