"""Schools and their schedule: classes, rooms, students, terms, programmes, sessions, the R-ASS-1 check and the
bureau's coverage. School admins build; teachers and the bureau of the school's town read; others get 404."""

from __future__ import annotations

from datetime import date as Date
from decimal import Decimal
from typing import Literal

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from accounts.models import Membership, Role
from afterschool.schedule import permissions, policy, selectors, services
from afterschool.schedule.models import Kind, Programme, Session, Student
from core.errors import NotFound, render
from core.http import request_language

from ...pagination import PageParams, paginate
from ...schemas import MAX_ID
from .common import (
    ERRORS,
    LocalTime,
    ProgrammeOut,
    SessionOut,
    StudentOut,
    hm,
    programme_out,
    session_out,
    student_out,
)

router = Router()

KindCode = Literal[tuple(Kind.values)]  # type: ignore[valid-type]
Phone = Field(..., pattern=r"^1\d{10}$")


class TownOut(Schema):
    id: int
    code: str
    name: str


class SchoolOut(Schema):
    id: int
    name: str
    stage: str
    stage_label: str
    town: TownOut


class SchoolPage(Schema):
    items: list[SchoolOut]
    count: int


def school_out(s) -> dict:
    return {
        "id": s.pk,
        "name": s.name,
        "stage": s.stage,
        "stage_label": s.get_stage_display(),
        "town": {"id": s.town.pk, "code": s.town.code, "name": s.town.name},
    }


@router.get("/schools", response={200: SchoolPage, **ERRORS}, summary="学校列表 Schools I may see")
def list_schools(request, filters: Query[PageParams]):
    qs = selectors.schools_visible_to(request.auth).select_related("town").order_by("name", "id")
    page = paginate(qs, filters)
    return {"items": [school_out(s) for s in page["items"]], "count": page["count"]}


class ClassOut(Schema):
    id: int
    grade: int
    number: int
    label: str
    class_teacher_id: int | None


class RoomOut(Schema):
    id: int
    name: str
    seats: int | None


class TermOut(Schema):
    id: int
    name: str
    starts_on: Date
    ends_on: Date


class SchoolDetail(SchoolOut):
    classes: list[ClassOut]
    rooms: list[RoomOut]
    terms: list[TermOut]


def _class_out(c) -> dict:
    return {"id": c.pk, "grade": c.grade, "number": c.number, "label": c.label, "class_teacher_id": c.class_teacher_id}


@router.get("/schools/{school_id}", response={200: SchoolDetail, **ERRORS}, summary="学校详情 School")
def get_school(request, school_id: int):
    school = permissions.access_school(request.auth, school_id)
    return {
        **school_out(school),
        "classes": [_class_out(c) for c in school.classes.all()],
        "rooms": [{"id": r.pk, "name": r.name, "seats": r.seats} for r in school.rooms.all()],
        "terms": [
            {"id": t.pk, "name": t.name, "starts_on": t.starts_on, "ends_on": t.ends_on} for t in school.terms.all()
        ],
    }


class TeacherOut(Schema):
    id: int
    name: str
    phone: str = Field(..., description="脱敏 / masked")
    roles: list[str]


@router.get(
    "/schools/{school_id}/teachers",
    response={200: list[TeacherOut], **ERRORS},
    summary="本校教师（排课用）Teachers of the school, for scheduling",
)
def list_teachers(request, school_id: int):
    permissions.require_school_staff(request.auth, school_id)
    rows = (
        Membership.objects.active()
        .filter(school_id=school_id, role__in=[Role.TEACHER, Role.SCHOOL_ADMIN])
        .select_related("user")
        .order_by("user__name", "user_id")
    )
    teachers: dict[int, dict] = {}
    for m in rows:
        t = teachers.setdefault(
            m.user_id, {"id": m.user_id, "name": m.user.name, "phone": m.user.masked_phone, "roles": []}
        )
        t["roles"].append(m.role)
    return list(teachers.values())


class ClassIn(Schema):
    grade: int = Field(..., ge=1, le=9)
    number: int = Field(..., ge=1, le=99)
    class_teacher_id: int | None = Field(None, ge=1, le=MAX_ID)


@router.post("/schools/{school_id}/classes", response={201: ClassOut, **ERRORS}, summary="新建班级 Add a class")
def create_class(request, payload: ClassIn, school_id: int):
    school = permissions.access_school_for_admin(request.auth, school_id)
    klass = services.school_class_create(actor=request.auth, school=school, **payload.dict())
    return Status(201, _class_out(klass))


class RoomIn(Schema):
    name: str = Field(..., min_length=1, max_length=50)
    seats: int | None = Field(None, ge=1, le=5000)


@router.post("/schools/{school_id}/rooms", response={201: RoomOut, **ERRORS}, summary="新建场地 Add a room")
def create_room(request, payload: RoomIn, school_id: int):
    school = permissions.access_school_for_admin(request.auth, school_id)
    room = services.room_create(actor=request.auth, school=school, **payload.dict())
    return Status(201, {"id": room.pk, "name": room.name, "seats": room.seats})


class StudentIn(Schema):
    class_id: int = Field(..., ge=1, le=MAX_ID)
    name: str = Field(..., min_length=1, max_length=50)
    guardian_phones: list[str] = Field(..., min_length=1, max_length=4, description="家长手机号 / parents' phones")
    left_behind: bool = False
    migrant: bool = False


class StudentPage(Schema):
    items: list[StudentOut]
    count: int


@router.post("/schools/{school_id}/students", response={201: StudentOut, **ERRORS}, summary="新建学生 Add a student")
def create_student(request, payload: StudentIn, school_id: int):
    school = permissions.access_school_for_admin(request.auth, school_id)
    student = services.student_create(actor=request.auth, school=school, **payload.dict())
    return Status(201, student_out(student))


class StudentFilters(PageParams):
    class_id: int | None = Field(None, ge=1, le=MAX_ID)


@router.get("/schools/{school_id}/students", response={200: StudentPage, **ERRORS}, summary="学生名单 Students")
def list_students(request, filters: Query[StudentFilters], school_id: int):
    # School staff only: the bureau sees counts, never minors' names.
    permissions.require_school_staff(request.auth, school_id)
    qs = Student.objects.filter(school_id=school_id, is_active=True).select_related("school_class")
    if not permissions.is_school_admin(request.auth, school_id):
        # A teacher: the children of their classes and of the programmes they deliver, no one else's.
        mine = Q(school_class__class_teacher=request.auth) | Q(
            applications__programme__sessions__staff__user=request.auth, applications__status="approved"
        )
        qs = qs.filter(pk__in=Student.objects.filter(mine).values("pk"))
    if filters.class_id:
        qs = qs.filter(school_class_id=filters.class_id)
    page = paginate(qs.order_by("school_class__grade", "school_class__number", "name", "id"), filters)
    return {"items": [student_out(s) for s in page["items"]], "count": page["count"]}


class ExtraDayIn(Schema):
    date: Date
    follows_weekday: int = Field(..., ge=0, le=4, description="按周几的课表 / 0=Monday … 4=Friday")


class TermIn(Schema):
    name: str = Field(..., min_length=1, max_length=50)
    starts_on: Date
    ends_on: Date
    closures: list[Date] = Field(default_factory=list, max_length=200, description="停课日 / days without school")
    extra_days: list[ExtraDayIn] = Field(
        default_factory=list, max_length=50, description="调课上学日 / extra school days and whose timetable they run"
    )


@router.post("/schools/{school_id}/terms", response={201: TermOut, **ERRORS}, summary="新建学期 Add a term")
def create_term(request, payload: TermIn, school_id: int):
    school = permissions.access_school_for_admin(request.auth, school_id)
    data = payload.dict()
    data["extra_days"] = [(d["date"], d["follows_weekday"]) for d in data["extra_days"]]
    term = services.term_create(actor=request.auth, school=school, **data)
    return Status(201, {"id": term.pk, "name": term.name, "starts_on": term.starts_on, "ends_on": term.ends_on})


class ProgrammeIn(Schema):
    term_id: int = Field(..., ge=1, le=MAX_ID)
    name: str = Field(..., min_length=1, max_length=100)
    kind: KindCode
    grade_min: int = Field(..., ge=1, le=9)
    grade_max: int = Field(..., ge=1, le=9)
    capacity: int = Field(..., ge=-1_000_000, le=100_000, description="名额，至少 1 / places, at least 1")
    is_free: bool = True
    fee_per_lesson: Decimal | None = Field(None, max_digits=8, decimal_places=2)


class ProgrammePage(Schema):
    items: list[ProgrammeOut]
    count: int


@router.post(
    "/schools/{school_id}/programmes", response={201: ProgrammeOut, **ERRORS}, summary="新建项目 Add a programme"
)
def create_programme(request, payload: ProgrammeIn, school_id: int):
    school = permissions.access_school_for_admin(request.auth, school_id)
    programme = services.programme_create(actor=request.auth, school=school, **payload.dict())
    return Status(201, programme_out(programme))


@router.get("/schools/{school_id}/programmes", response={200: ProgrammePage, **ERRORS}, summary="项目列表 Programmes")
def list_programmes(request, filters: Query[PageParams], school_id: int):
    school = permissions.access_school(request.auth, school_id)
    page = paginate(Programme.objects.filter(school=school).order_by("term_id", "name", "id"), filters)
    return {"items": [programme_out(p) for p in page["items"]], "count": page["count"]}


class SessionIn(Schema):
    weekdays: list[int] = Field(..., min_length=1, max_length=5, description="0=周一 Monday … 4=周五 Friday")
    starts_at: LocalTime
    ends_at: LocalTime
    teacher_id: int | None = Field(None, ge=1, le=MAX_ID, description="本校教师 a teacher of the school, or")
    outside_person_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="已准入的校外人员 an admitted outside person"
    )
    room_id: int | None = Field(None, ge=1, le=MAX_ID)
    first_date: Date | None = None
    last_date: Date | None = None


@router.post(
    "/programmes/{programme_id}/sessions",
    response={201: list[SessionOut], **ERRORS},
    summary="排课（冲突检查）Schedule sessions, with clash checks",
)
def create_sessions(request, payload: SessionIn, programme_id: int):
    programme = permissions.access_programme_for_admin(request.auth, programme_id)
    created = services.session_create(actor=request.auth, programme=programme, **payload.dict())
    ids = [s.pk for s in created]
    rows = Session.objects.filter(pk__in=ids).select_related("programme", "room", "staff")
    return Status(201, [session_out(s) for s in rows])


@router.delete("/sessions/{session_id}", response={204: None, **ERRORS}, summary="删除课时 Delete a session")
def delete_session(request, session_id: int):
    session = permissions.access_session_for_admin(request.auth, session_id)
    services.session_delete(actor=request.auth, session=session)
    return Status(204, None)


class SessionFilters(Schema):
    term_id: int | None = Field(None, ge=1, le=MAX_ID)


@router.get("/schools/{school_id}/sessions", response={200: list[SessionOut], **ERRORS}, summary="课表 Timetable")
def list_sessions(request, filters: Query[SessionFilters], school_id: int):
    school = permissions.access_school(request.auth, school_id)
    term = None
    if filters.term_id:
        term = school.terms.filter(pk=filters.term_id).first()
        if term is None:
            raise NotFound(_("学期不存在"))
    term = term or selectors.current_term(school, timezone.localdate())
    qs = Session.objects.filter(school=school, programme__term=term).select_related("programme", "room", "staff")
    return [session_out(s) for s in qs.order_by("weekday", "starts_at", "id")]


# --- R-ASS-1 ---------------------------------------------------------------------------------------------------------


class FindingOut(Schema):
    rule: str
    code: str
    message: str
    weekday: int | None = None
    days: int | None = None
    first_date: Date | None = None
    programme_id: int | None = None


class WeekdayOut(Schema):
    weekday: int
    label: str
    minutes: int
    ends_at: str | None = Field(..., description="HH:MM")
    ok: bool


class PolicyOut(Schema):
    days_per_week: int
    hours_per_day: int
    end_not_before: str = Field(..., description="HH:MM")


class ScheduleCheckOut(Schema):
    school_id: int
    school_name: str
    rule: str
    ok: bool
    term: TermOut | None
    policy: PolicyOut | None = None
    school_days: int = 0
    days_with_service: int = 0
    days_per_week: int = 0
    sessions: int = 0
    students: int = 0
    enrolled: int = 0
    participation_rate: float | None = None
    weekdays: list[WeekdayOut] = []
    findings: list[FindingOut]


def report_out(report: dict, lang: str) -> dict:
    term = report.get("term")
    school = report["school"]
    findings = [
        {k: v for k, v in f.items() if k != "message"} | {"message": render(f["message"], lang)}
        for f in report["findings"]
    ]
    extra = {}
    if report.get("policy"):
        extra["policy"] = {**report["policy"], "end_not_before": hm(report["policy"]["end_not_before"])}
    if report.get("weekdays"):
        extra["weekdays"] = [{**w, "ends_at": hm(w["ends_at"])} for w in report["weekdays"]]
    return {
        **{k: v for k, v in report.items() if k not in ("school", "term", "findings")},
        **extra,
        "school_id": school.pk,
        "school_name": school.name,
        "term": {"id": term.pk, "name": term.name, "starts_on": term.starts_on, "ends_on": term.ends_on}
        if term
        else None,
        "findings": findings,
    }


class CheckFilters(Schema):
    term_id: int | None = Field(None, ge=1, le=MAX_ID)


@router.get(
    "/schools/{school_id}/schedule-check",
    response={200: ScheduleCheckOut, **ERRORS},
    summary="“5+2”检查（R-ASS-1）Schedule check against R-ASS-1",
)
def schedule_check(request, filters: Query[CheckFilters], school_id: int):
    school = permissions.access_school(request.auth, school_id)
    term = None
    if filters.term_id:
        term = school.terms.filter(pk=filters.term_id).first()
        if term is None:
            raise NotFound(_("学期不存在"))
    today = timezone.localdate()
    if term is None:
        term = selectors.current_term(school, today)
    if term is None:
        report = {
            "school": school,
            "rule": policy.RULE,
            "ok": False,
            "term": None,
            "findings": [policy._finding("no_term", _("尚未设置学期"))],
        }
    else:
        report = policy.school_schedule_check(school, today, term)
    return report_out(report, request_language(request))


class CoveragePage(Schema):
    items: list[ScheduleCheckOut]
    count: int


@router.get(
    "/coverage",
    response={200: CoveragePage, **ERRORS},
    summary="全区课后服务覆盖 Coverage per school (bureau)",
)
def coverage(request, filters: Query[PageParams]):
    qs = selectors.schools_visible_to(request.auth).select_related("town").order_by("town__code", "name", "id")
    page = paginate(qs, filters)
    reports = policy.coverage(list(page["items"]), timezone.localdate())
    lang = request_language(request)
    return {"items": [report_out(r, lang) for r in reports], "count": page["count"]}
