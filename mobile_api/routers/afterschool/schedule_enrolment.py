"""Enrolment: parents apply and rank choices for their own children; class teachers approve; anyone may withdraw
what is theirs. Parents see their children's programmes, timetable and attendance."""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime as DateTime
from datetime import timedelta
from typing import Literal

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from afterschool.schedule import enrolment, permissions, selectors
from afterschool.schedule.models import Application, Attendance, ChoiceWindow, Programme, Session
from core.errors import DomainError

from ...pagination import PageParams, paginate
from ...schemas import MAX_ID
from .common import (
    ERRORS,
    ApplicationOut,
    AttendanceOut,
    ProgrammeOut,
    SessionOut,
    StudentOut,
    application_out,
    attendance_out,
    programme_out,
    session_out,
    student_out,
)

router = Router()

StatusCode = Literal[tuple(Application.Status.values)]  # type: ignore[valid-type]


def _app(pk: int) -> Application:
    return Application.objects.select_related("student__school_class", "programme").get(pk=pk)


class ApplicationIn(Schema):
    student_id: int = Field(..., ge=1, le=MAX_ID)
    programme_id: int = Field(..., ge=1, le=MAX_ID)


@router.post(
    "/applications", response={201: ApplicationOut, **ERRORS}, summary="家长为孩子报名 A parent applies for their child"
)
def apply(request, payload: ApplicationIn):
    application = enrolment.application_submit(actor=request.auth, **payload.dict())
    return Status(201, application_out(_app(application.pk)))


class ApplicationFilters(PageParams):
    status: StatusCode | None = None
    programme_id: int | None = Field(None, ge=1, le=MAX_ID)
    window_id: int | None = Field(None, ge=0, le=MAX_ID, description="志愿填报，0 = 无 / choice window, 0: none")
    term_id: int | None = Field(None, ge=1, le=MAX_ID, description="学期 / term")


class ApplicationPage(Schema):
    items: list[ApplicationOut]
    count: int


@router.get("/applications", response={200: ApplicationPage, **ERRORS}, summary="报名列表 Applications I may see")
def list_applications(request, filters: Query[ApplicationFilters]):
    qs = selectors.applications_visible_to(request.auth).select_related("student__school_class", "programme")
    qs = selectors.applications_filtered(
        qs,
        status=filters.status,
        programme_id=filters.programme_id,
        window_id=filters.window_id,
        term_id=filters.term_id,
    )
    page = paginate(qs.order_by("-priority", "created_at", "id"), filters)
    return {"items": [application_out(a) for a in page["items"]], "count": page["count"]}


@router.post(
    "/applications/{application_id}/approve",
    response={200: ApplicationOut, **ERRORS},
    summary="班主任审核通过 The class teacher approves",
)
def approve(request, application_id: int):
    app = enrolment.application_approve(actor=request.auth, application_id=application_id)
    return application_out(_app(app.pk))


class RejectIn(Schema):
    reason: str = Field(..., min_length=1, max_length=200)


@router.post(
    "/applications/{application_id}/reject", response={200: ApplicationOut, **ERRORS}, summary="不予通过 Reject"
)
def reject(request, payload: RejectIn, application_id: int):
    app = enrolment.application_reject(actor=request.auth, application_id=application_id, reason=payload.reason)
    return application_out(_app(app.pk))


@router.post(
    "/applications/{application_id}/withdraw",
    response={200: ApplicationOut, **ERRORS},
    summary="退出（自下一个上学日起）Withdraw, effective from the next school day",
)
def withdraw(request, application_id: int):
    app = enrolment.application_withdraw(actor=request.auth, application_id=application_id)
    return application_out(_app(app.pk))


# --- Choice windows ---------------------------------------------------------------------------------------------------


class WindowIn(Schema):
    term_id: int = Field(..., ge=1, le=MAX_ID)
    name: str = Field(..., min_length=1, max_length=100)
    programme_ids: list[int] = Field(..., min_length=1, max_length=50)
    opens_at: DateTime
    closes_at: DateTime


class WindowOut(Schema):
    id: int
    school_id: int
    term_id: int
    name: str
    programme_ids: list[int]
    opens_at: DateTime
    closes_at: DateTime
    status: str
    seed: str | None = Field(None, description="抽签种子（分配后公布）/ the lottery seed, published after allocation")
    allocated_at: DateTime | None
    result: dict


def window_out(w: ChoiceWindow) -> dict:
    return {
        "id": w.pk,
        "school_id": w.school_id,
        "term_id": w.term_id,
        "name": w.name,
        "programme_ids": sorted(p.pk for p in w.programmes.all()),
        "opens_at": w.opens_at,
        "closes_at": w.closes_at,
        "status": w.status,
        "seed": None if w.seed is None else str(w.seed),
        "allocated_at": w.allocated_at,
        "result": w.result,
    }


@router.post(
    "/schools/{school_id}/choice-windows",
    response={201: WindowOut, **ERRORS},
    summary="开放志愿填报 Open a choice window (school admin)",
)
def create_window(request, payload: WindowIn, school_id: int):
    school = permissions.access_school_for_admin(request.auth, school_id)
    data = payload.dict()
    for key in ("opens_at", "closes_at"):
        if timezone.is_naive(data[key]):
            data[key] = timezone.make_aware(data[key])
    window = enrolment.window_create(actor=request.auth, school=school, **data)
    return Status(201, window_out(window))


@router.get("/choice-windows/{window_id}", response={200: WindowOut, **ERRORS}, summary="志愿填报 A choice window")
def get_window(request, window_id: int):
    return window_out(permissions.access_window(request.auth, window_id))


class ChoicesIn(Schema):
    student_id: int = Field(..., ge=1, le=MAX_ID)
    programme_ids: list[int] = Field(..., min_length=1, max_length=3, description="按志愿顺序 / best first")


@router.post(
    "/choice-windows/{window_id}/choices",
    response={200: list[ApplicationOut], **ERRORS},
    summary="填报志愿（最多 3 个）Rank up to 3 programmes",
)
def submit_choices(request, payload: ChoicesIn, window_id: int):
    rows = enrolment.choices_submit(actor=request.auth, window_id=window_id, **payload.dict())
    apps = Application.objects.filter(pk__in=[r.pk for r in rows]).select_related("student__school_class", "programme")
    return [application_out(a) for a in apps.order_by("rank")]


class AllocateIn(Schema):
    seed: int | None = Field(None, ge=0, le=2**62, description="留空则随机生成并记录 / random and recorded if empty")


@router.post(
    "/choice-windows/{window_id}/allocate",
    response={200: WindowOut, **ERRORS},
    summary="截止并分配 Close the window and allocate (school admin)",
)
def allocate(request, payload: AllocateIn, window_id: int):
    window = permissions.access_window_for_admin(request.auth, window_id)
    window = enrolment.window_allocate(actor=request.auth, window_id=window.pk, seed=payload.seed, early=True)
    return window_out(window)


# --- Parents: their children ------------------------------------------------------------------------------------------


@router.get("/children", response={200: list[StudentOut], **ERRORS}, summary="我的孩子 My children (parents)")
def my_children(request):
    qs = selectors.children_of(request.auth).select_related("school_class").order_by("name", "id")
    return [student_out(s) for s in qs]


@router.get(
    "/children/{student_id}/programmes",
    response={200: list[ProgrammeOut], **ERRORS},
    summary="孩子可报名的项目 Programmes open to my child",
)
def child_programmes(request, student_id: int):
    child = permissions.access_child(request.auth, student_id)
    grade = child.school_class.grade
    qs = Programme.objects.filter(
        school_id=child.school_id, grade_min__lte=grade, grade_max__gte=grade, term__ends_on__gte=timezone.localdate()
    ).order_by("name", "id")
    return [programme_out(p) for p in qs]


@router.get(
    "/children/{student_id}/timetable",
    response={200: list[SessionOut], **ERRORS},
    summary="孩子的课后服务课表 My child's timetable",
)
def child_timetable(request, student_id: int):
    child = permissions.access_child(request.auth, student_id)
    today = timezone.localdate()
    programmes = Application.objects.filter(
        Q(active_until_excl__isnull=True) | Q(active_until_excl__gt=today),
        student=child,
        status__in=[Application.Status.APPROVED, Application.Status.WITHDRAWN],
        active_from__isnull=False,
    ).values("programme_id")
    qs = Session.objects.filter(programme_id__in=programmes, last_date__gte=today).select_related(
        "programme", "room", "staff"
    )
    return [session_out(s) for s in qs.order_by("weekday", "starts_at", "id")]


class AttendanceFilters(Schema):
    date_from: Date | None = Field(None, alias="from")
    date_to: Date | None = Field(None, alias="to")


@router.get(
    "/children/{student_id}/attendance",
    response={200: list[AttendanceOut], **ERRORS},
    summary="孩子的考勤 My child's attendance",
)
def child_attendance(request, filters: Query[AttendanceFilters], student_id: int):
    child = permissions.access_child(request.auth, student_id)
    end = filters.date_to or timezone.localdate()
    start = filters.date_from or max(end, Date(1, 2, 1)) - timedelta(days=31)
    if start > end or (end - start).days > 200:
        raise DomainError(
            "request.invalid",
            _("日期范围无效（最多 200 天）"),
            status=422,
            fields={"from": _("无效")},
        )
    qs = Attendance.objects.filter(student=child, date__gte=start, date__lte=end).order_by("-date", "session_id")
    return [attendance_out(a) for a in qs]
