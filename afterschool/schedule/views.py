"""Web pages of after-school services (signed in with the web session): the school's weekly timetable with clashes
and policy warnings, a programme's roster with xlsx export and a printable sign-in sheet, and the bureau's coverage
across the district. Anything outside the user's scope answers 404."""

from __future__ import annotations

from datetime import date
from io import BytesIO

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from accounts import scope
from accounts.models import Role
from core.audit import audit_log
from core.errors import NotFound

from . import attendance as attendance_service
from . import permissions, policy, selectors
from .calendar import provisional_years_of
from .models import WEEKDAY_LABELS, Application, Attendance, Programme, Session
from .services import sessions_overlap

DAY_START, DAY_END = 15 * 60, 19 * 60  # the grid shows 15:00-19:00, widened to fit earlier or later sessions
PX_PER_MINUTE = 1.6


def signed_in(view):
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _minutes(t) -> int:
    return t.hour * 60 + t.minute


def _clashes(sessions: list[Session]) -> dict[int, list[str]]:
    """{session id: what it clashes with}: the build refuses clashes, but data entered elsewhere (admin, imports)
    could still hold one, and the page must show it."""
    out: dict[int, list[str]] = {}
    for i, a in enumerate(sessions):
        for b in sessions[i + 1 :]:
            if not sessions_overlap(a, b):
                continue
            if a.staff_id and a.staff_id == b.staff_id:
                why = format_lazy(_("教师冲突：{name}"), name=a.staff.name)
            elif a.room_id and a.room_id == b.room_id:
                why = format_lazy(_("场地冲突：{name}"), name=a.room.name)
            else:
                continue
            out.setdefault(a.pk, []).append(f"{why} · {b.programme.name}")
            out.setdefault(b.pk, []).append(f"{why} · {a.programme.name}")
    return out


@require_safe
@signed_in
def index(request):
    schools = selectors.schools_visible_to(request.user).select_related("town").order_by("town__code", "name")
    return render(
        request,
        "afterschool/index.html",
        {
            "schools": schools,
            "is_bureau": selectors.is_bureau(request.user),
            "has_children": selectors.children_of(request.user).exists(),
        },
    )


@require_safe
@signed_in
def timetable(request, school_id: int):
    school = permissions.access_school(request.user, school_id)
    today = timezone.localdate()
    term = None
    if request.GET.get("term", "").isdigit():
        term = school.terms.filter(pk=int(request.GET["term"])).first()
    term = term or selectors.current_term(school, today)
    sessions = []
    report = None
    if term is not None:
        sessions = list(
            Session.objects.filter(school=school, programme__term=term)
            .select_related("programme", "room", "staff")
            .order_by("weekday", "starts_at", "id")
        )
        report = policy.school_schedule_check(school, today, term)
    clashes = _clashes(sessions)
    start = min([DAY_START, *(_minutes(s.starts_at) // 60 * 60 for s in sessions)])
    end = max([DAY_END, *(-(-_minutes(s.ends_at) // 60) * 60 for s in sessions)])
    day_warnings: dict[int, list[str]] = {}
    for f in (report or {}).get("findings", []):
        if f.get("weekday") is not None:
            day_warnings.setdefault(f["weekday"], []).append(f["message"])
    columns = []
    for w in range(5):
        mine = [s for s in sessions if s.weekday == w]
        # Side by side when sessions overlap (two rooms at 16:00): each gets a lane.
        lanes: list[int] = []
        placed = []
        for s in mine:
            lane = next((i for i, end_m in enumerate(lanes) if end_m <= _minutes(s.starts_at)), None)
            if lane is None:
                lanes.append(0)
                lane = len(lanes) - 1
            lanes[lane] = _minutes(s.ends_at)
            placed.append((s, lane))
        width = 100 / max(1, len(lanes))
        columns.append(
            {
                "weekday": w,
                "label": WEEKDAY_LABELS[w],
                "warnings": day_warnings.get(w, []),
                "blocks": [
                    {
                        "session": s,
                        "top": round((_minutes(s.starts_at) - start) * PX_PER_MINUTE),
                        "height": round((_minutes(s.ends_at) - _minutes(s.starts_at)) * PX_PER_MINUTE),
                        "left": round(lane * width, 2),
                        "width": round(width, 2),
                        "clashes": clashes.get(s.pk, []),
                        "forbidden": s.programme.kind in ("new_lessons", "drilling"),
                    }
                    for s, lane in placed
                ],
            }
        )
    hours = [{"label": f"{m // 60:02d}:00", "top": round((m - start) * PX_PER_MINUTE)} for m in range(start, end, 60)]
    return render(
        request,
        "afterschool/timetable.html",
        {
            "school": school,
            "term": term,
            "terms": school.terms.all(),
            "columns": columns,
            "hours": hours,
            "grid_height": round((end - start) * PX_PER_MINUTE),
            "report": report,
            "general_warnings": [f for f in (report or {}).get("findings", []) if f.get("weekday") is None],
            "clash_count": len(clashes),
            "can_see_rosters": permissions.is_school_admin(request.user, school.pk),
            "provisional_years": provisional_years_of(term),
        },
    )


def _roster(programme: Programme, day: date):
    return list(
        Application.objects.filter(selectors.enrolled_on(day), programme=programme)
        .select_related("student__school_class")
        .order_by("student__school_class__grade", "student__school_class__number", "student__name", "student_id")
    )


@require_safe
@signed_in
def roster(request, programme_id: int):
    programme = permissions.access_programme_roster(request.user, programme_id)
    day = timezone.localdate()
    audit_log(actor=request.user, verb="afterschool.roster_viewed", obj=programme, data={"day": str(day)})
    labels = [str(label) for label in WEEKDAY_LABELS]
    return render(
        request,
        "afterschool/roster.html",
        {
            "programme": programme,
            "day": day,
            "enrolments": _roster(programme, day),
            "sessions": [
                (s, labels[s.weekday])
                for s in programme.sessions.select_related("room", "staff").order_by("weekday", "starts_at")
            ],
        },
    )


@require_safe
@signed_in
def roster_xlsx(request, programme_id: int):
    """The roster and the term's attendance as a spreadsheet."""
    from openpyxl import Workbook

    programme = permissions.access_programme_roster(request.user, programme_id)
    day = timezone.localdate()
    # Children's names leave the platform in this file: who took them, and when, is kept (PIPL).
    audit_log(actor=request.user, verb="afterschool.roster_exported", obj=programme, data={"day": str(day)})
    wb = Workbook()
    ws = wb.active
    # One language, the requester's (the active one).
    ws.title = gettext("名单")
    ws.append([gettext("班级"), gettext("姓名"), gettext("优先"), gettext("参加起始"), gettext("退出生效")])
    for a in _roster(programme, day):
        ws.append(
            [
                a.student.school_class.label,
                a.student.name,
                gettext("是") if a.priority else "",
                a.active_from,
                a.active_until_excl,
            ]
        )
    att = wb.create_sheet(pgettext("sheet", "考勤"))
    att.append(
        [
            gettext("日期"),
            pgettext("roster column", "课时"),
            gettext("班级"),
            gettext("姓名"),
            gettext("考勤结果"),
            gettext("离开时间"),
            gettext("更正原因"),
        ]
    )
    rows = (
        Attendance.objects.filter(session__programme=programme)
        .select_related("student__school_class", "session")
        .order_by("date", "session__starts_at", "student__name")
    )
    for r in rows:
        att.append(
            [
                r.date,
                f"{WEEKDAY_LABELS[r.session.weekday]} {r.session.starts_at:%H:%M}",
                r.student.school_class.label,
                r.student.name,
                r.get_mark_display(),
                r.left_at.strftime("%H:%M") if r.left_at else "",
                r.correction_reason,
            ]
        )
    buffer = BytesIO()
    wb.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="roster-{programme.pk}.xlsx"'
    return response


@require_safe
@signed_in
def sign_in_sheet(request, session_id: int):
    """A printable sign-in sheet of one session on one day (today unless ?date=YYYY-MM-DD)."""
    try:
        session = permissions.access_session_of_staff(request.user, session_id)
    except NotFound:
        raise Http404 from None
    try:
        day = date.fromisoformat(request.GET.get("date", "")) if request.GET.get("date") else timezone.localdate()
    except ValueError:
        day = timezone.localdate()
    students = attendance_service.rosters([session], day).get(session.programme_id, [])
    return render(request, "afterschool/sign_in.html", {"session": session, "day": day, "students": students})


@require_safe
@signed_in
def coverage(request):
    """The bureau's view: per school participation, days and hours offered, and R-ASS-1 warnings."""
    schools = list(selectors.schools_visible_to(request.user).select_related("town").order_by("town__code", "name"))
    reports = policy.coverage(schools, timezone.localdate())
    years = provisional_years_of(*{r["term"] for r in reports if r.get("term") is not None})
    for r in reports:
        r["hours_min"] = min((w["minutes"] for w in r.get("weekdays", [])), default=0) / 60
        term = r.get("term")
        r["provisional"] = term is not None and any(term.starts_on.year <= y <= term.ends_on.year for y in years)
    return render(request, "afterschool/coverage.html", {"reports": reports, "provisional_years": years})


# --- The lists behind the home's cards ------------------------------------------------------------------------------

SESSION_LISTS = {
    # filter: (title, which sessions, which part of the work)
    "today": (_("今日课时"), selectors.sessions_delivered_by, "today"),
    "roll_calls": (_("未点名的课时"), selectors.sessions_delivered_by, "roll_calls"),
    "school_today": (_("今日课后服务"), selectors.sessions_of_admin, "today"),
    "school_gaps": (_("考勤缺漏"), selectors.sessions_of_admin, "roll_calls"),
}


@require_safe
@signed_in
def session_list(request):
    """/afterschool/sessions/?filter=today|roll_calls (the sessions one delivers: a teacher, an admitted outside
    person) or school_today|school_gaps (a school's admins: every session of their schools); each a list of
    (session, day) with the sign-in sheet. A list that is not the user's: 404."""
    name = request.GET.get("filter") or "today"
    if name not in SESSION_LISTS:
        raise Http404
    title, sessions_of, part = SESSION_LISTS[name]
    if name.startswith("school_") and not scope.school_ids(request.user, Role.SCHOOL_ADMIN):
        raise Http404
    delivers = (
        scope.has_role(request.user, Role.TEACHER)
        or not scope.roles(request.user)  # an outside coach (signed up without a role)
        or request.user.outside_persons.exists()
    )
    if not name.startswith("school_") and not delivers:
        raise Http404
    now = timezone.localtime()
    rows = selectors.session_work(sessions_of(request.user), now.date(), now.time())[part]
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "afterschool/session_list.html", {"page": page, "filter": name, "title": title})


@require_safe
@signed_in
def application_list(request):
    """Applications waiting for the class teacher or the school's admins (anyone else: 404)."""
    if not (scope.school_ids(request.user, Role.SCHOOL_ADMIN) or scope.has_role(request.user, Role.TEACHER)):
        raise Http404
    page = Paginator(selectors.applications_to_decide(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "afterschool/application_list.html", {"page": page})
