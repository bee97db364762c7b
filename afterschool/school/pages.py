"""The school admin's scheduling pages (课后服务排课管理), phone first: terms, rooms, the class list (xlsx import and
one by one), programmes, the timetable editor with the clash and "5+2" checks shown while editing (an htmx call to the
check below, which asks the same service the save and the API use), staff assignment, choice windows and the
lottery, the applications to approve, rosters and attendance gaps.

A school admin sees their own schools only: another school's id, or an object of another school, answers 404. A view
adapts a request to the services and selectors of afterschool.schedule / admission / fees; it holds no rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from afterschool.fees import allocation as fee_allocation
from afterschool.schedule import classlist, enrolment, permissions, policy, selectors, services
from afterschool.schedule.calendar import process_calendar, provisional_years_of
from afterschool.schedule.models import (
    WEEKDAY_LABELS,
    Application,
    ChoiceWindow,
    Kind,
    Programme,
    Room,
    School,
    SchoolClass,
    Session,
    Student,
    Term,
)
from afterschool.schedule.views import signed_in
from core.errors import DomainError, NotFound

from . import selectors as school_selectors

PAGE_SIZE = 50
S = Application.Status


# --- Small parsers (a bad value becomes a field error, never a 500) ---------------------------------------------------


def _int(raw) -> int | None:
    raw = (raw or "").strip() if isinstance(raw, str) else raw
    if isinstance(raw, int):
        return raw
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else None


def _date(raw) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip()) if (raw or "").strip() else None
    except ValueError:
        return None


def _time(raw) -> time | None:
    try:
        return time.fromisoformat((raw or "").strip()) if (raw or "").strip() else None
    except ValueError:
        return None


def _datetime(raw) -> datetime | None:
    try:
        value = datetime.fromisoformat((raw or "").strip())
    except ValueError:
        return None
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _errors(exc: DomainError) -> dict[str, str]:
    return exc.field_messages() or {"form": exc.message()}


def _school(request, school_id: int) -> School:
    return permissions.access_school_for_admin(request.user, school_id)


def _term(school: School, term_id) -> Term:
    term = school.terms.filter(pk=_int(str(term_id)) or 0).first()
    if term is None:
        raise NotFound(_("学期不存在"))
    return term


def _chosen_term(request, school: School) -> Term | None:
    """The term asked for (?term=), else the current one (running, next, or the last)."""
    raw = _int(request.GET.get("term") or request.POST.get("term"))
    term = school.terms.filter(pk=raw).first() if raw else None
    return term or selectors.current_term(school, timezone.localdate())


def _provisional_years(term: Term) -> list[int]:
    """Years of the term whose working days are still provisional (shown as "暂定" beside the 5+2 figures)."""
    return provisional_years_of(term)


# --- The school admin's home: every scheduling page, with what waits ------------------------------------------------


@require_safe
@signed_in
def home(request, school_id: int):
    school = _school(request, school_id)
    term = selectors.current_term(school, timezone.localdate())
    counts = {
        "terms": school.terms.count(),
        "rooms": school.rooms.count(),
        "students": Student.objects.filter(school=school, is_active=True).count(),
    }
    if term is not None:
        counts.update(
            Programme.objects.filter(term=term).aggregate(programmes=Count("id")),
            sessions=Session.objects.filter(programme__term=term).count(),
            needs_staff=Session.objects.filter(programme__term=term, needs_staff=True).count(),
            windows_open=ChoiceWindow.objects.filter(term=term, status=ChoiceWindow.Status.OPEN).count(),
            pending=Application.objects.filter(programme__term=term, status=S.PENDING).count(),
        )
    return render(request, "afterschool/school/home.html", {"school": school, "term": term, "counts": counts})


# --- Terms ------------------------------------------------------------------------------------------------------------


def _closures(raw: str) -> tuple[list[date], bool]:
    days, ok = [], True
    for part in (raw or "").replace("，", ",").replace("\n", ",").split(","):
        if part.strip():
            d = _date(part)
            ok = ok and d is not None
            if d:
                days.append(d)
    return days, ok


@require_http_methods(["GET", "POST"])
@signed_in
def terms(request, school_id: int):
    school = _school(request, school_id)
    values, errors, overlaps = {}, {}, []
    status = 200
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("name", "starts_on", "ends_on", "closures")}
        starts_on, ends_on = _date(values["starts_on"]), _date(values["ends_on"])
        closures, closures_ok = _closures(values["closures"])
        if not values["name"].strip():
            errors["name"] = gettext("请填写学期名称")
        if starts_on is None:
            errors["starts_on"] = gettext("日期格式应为 年-月-日")
        if ends_on is None:
            errors["ends_on"] = gettext("日期格式应为 年-月-日")
        if not closures_ok:
            errors["closures"] = gettext("日期格式应为 年-月-日")
        if not errors:
            overlaps = selectors.terms_overlapping(school, starts_on, ends_on)
            if overlaps and request.POST.get("confirm_overlap") != "on":
                errors["confirm_overlap"] = gettext("与已有学期日期重叠，请确认后再创建")
        if not errors:
            try:
                term = services.term_create(
                    actor=request.user,
                    school=school,
                    name=values["name"].strip(),
                    starts_on=starts_on,
                    ends_on=ends_on,
                    closures=closures,
                )
            except DomainError as exc:
                errors = _errors(exc)
            else:
                if overlaps:
                    messages.warning(
                        request,
                        format_lazy(
                            _("已创建学期“{name}”；它与{others}日期重叠，课表页会注明所显示的学期。"),
                            name=term.name,
                            others="、".join(t.name for t in overlaps),
                        ),
                    )
                else:
                    messages.success(request, format_lazy(_("已创建学期“{name}”"), name=term.name))
                return redirect("school-terms", school_id=school.pk)
        status = 422
    rows = list(school.terms.order_by("-starts_on", "id"))
    for t in rows:
        t.overlaps = [o.name for o in rows if o.pk != t.pk and o.starts_on <= t.ends_on and o.ends_on >= t.starts_on]
    return render(
        request,
        "afterschool/school/terms.html",
        {"school": school, "rows": rows, "values": values, "errors": errors, "overlaps": overlaps},
        status=status,
    )


# --- Rooms ------------------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@signed_in
def rooms(request, school_id: int):
    school = _school(request, school_id)
    values, errors, status = {}, {}, 200
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("name", "seats")}
        seats = _int(values["seats"]) if values["seats"].strip() else None
        if values["seats"].strip() and seats is None:  # not a number: the service checks the range
            errors["seats"] = gettext("座位数应为 1–5000 的整数")
        if not errors:
            try:
                room = services.room_create(actor=request.user, school=school, name=values["name"], seats=seats)
            except DomainError as exc:
                errors = _errors(exc)
            else:
                messages.success(request, format_lazy(_("已添加场地“{name}”"), name=room.name))
                return redirect("school-rooms", school_id=school.pk)
        status = 422
    rows = Room.objects.filter(school=school).annotate(n=Count("sessions")).order_by("name")
    return render(
        request,
        "afterschool/school/rooms.html",
        {"school": school, "rows": rows, "values": values, "errors": errors},
        status=status,
    )


# --- The class list ---------------------------------------------------------------------------------------------------


@require_safe
@signed_in
def students(request, school_id: int):
    school = _school(request, school_id)
    active = Count("students", filter=Q(students__is_active=True))
    classes = list(SchoolClass.objects.filter(school=school).annotate(n=active))
    class_id = _int(request.GET.get("class"))
    qs = (
        Student.objects.filter(school=school)
        .select_related("school_class")
        .prefetch_related("guardian_phones")
        .annotate(linked=Count("guardians", distinct=True))
        .order_by("-is_active", "school_class__grade", "school_class__number", "name", "id")
    )
    if class_id:
        qs = qs.filter(school_class_id=class_id)
    q = (request.GET.get("q") or "").strip()[:50]
    if q:
        qs = qs.filter(name__contains=q)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "afterschool/school/students.html",
        {
            "school": school,
            "classes": classes,
            "class_id": class_id,
            "q": q,
            "page": page,
            "query": urlencode({k: v for k, v in (("class", class_id or ""), ("q", q)) if v}),
        },
    )


@require_http_methods(["GET", "POST"])
@signed_in
def students_import(request, school_id: int):
    school = _school(request, school_id)
    context = {"school": school, "row_errors": [], "errors": {}}
    if request.method == "GET":
        return render(request, "afterschool/school/students_import.html", context)
    upload = request.FILES.get("file")
    if upload is None:
        context["errors"] = {"file": gettext("请选择 xlsx 表格")}
        return render(request, "afterschool/school/students_import.html", context, status=422)
    if upload.size > 5 * 1024 * 1024:
        context["errors"] = {"file": gettext("表格不能超过 5 MB")}
        return render(request, "afterschool/school/students_import.html", context, status=413)
    try:
        result = classlist.class_list_import(actor=request.user, school=school, upload=upload)
    except classlist.ClassListInvalid as exc:
        context.update(row_errors=exc.rows, message=exc.message())
        return render(request, "afterschool/school/students_import.html", context, status=422)
    except DomainError as exc:
        context["errors"] = _errors(exc)
        return render(request, "afterschool/school/students_import.html", context, status=exc.status)
    messages.success(
        request,
        format_lazy(
            _("已导入 {students} 名学生（新建 {classes} 个班级，关联已注册家长 {linked} 人）"),
            students=result["students"],
            classes=result["classes_created"],
            linked=result["guardians_linked"],
        ),
    )
    return redirect("school-students", school_id=school.pk)


@require_http_methods(["GET", "POST"])
@signed_in
def student_edit(request, school_id: int, student_id: int | None = None):
    school = _school(request, school_id)
    student = None
    if student_id is not None:
        student = Student.objects.filter(school=school, pk=student_id).select_related("school_class").first()
        if student is None:
            raise Http404
    classes = SchoolClass.objects.filter(school=school)
    errors, status = {}, 200
    if request.method == "POST":
        post = request.POST
        values = {
            "class_id": post.get("class_id", ""),
            "name": post.get("name", ""),
            "guardian_phones": post.get("guardian_phones", ""),
            "left_behind": post.get("left_behind") == "on",
            "migrant": post.get("migrant") == "on",
            "is_active": post.get("is_active") == "on" if student is not None else True,
        }
        try:
            saved = classlist.student_save(
                actor=request.user,
                school=school,
                student=student,
                class_id=_int(values["class_id"]),
                name=values["name"],
                guardian_phones=values["guardian_phones"],
                left_behind=values["left_behind"],
                migrant=values["migrant"],
                is_active=values["is_active"],
            )
        except DomainError as exc:
            errors, status = _errors(exc), 422
        else:
            messages.success(request, format_lazy(_("已保存学生“{name}”"), name=saved.name))
            return redirect(reverse("school-students", args=(school.pk,)) + f"?class={saved.school_class_id}")
    elif student is not None:
        values = {
            "class_id": str(student.school_class_id),
            "name": student.name,
            "guardian_phones": "，".join(student.guardian_phones.values_list("phone", flat=True)),
            "left_behind": student.left_behind,
            "migrant": student.migrant,
            "is_active": student.is_active,
        }
    else:
        values = {"class_id": request.GET.get("class", ""), "is_active": True}
    return render(
        request,
        "afterschool/school/student_edit.html",
        {"school": school, "student": student, "classes": classes, "values": values, "errors": errors},
        status=status,
    )


# --- Programmes -------------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@signed_in
def programmes(request, school_id: int):
    school = _school(request, school_id)
    term = _chosen_term(request, school)
    values, errors, status = {"grade_min": "", "grade_max": "", "is_free": True}, {}, 200
    if request.method == "POST":
        post = request.POST
        values = {k: post.get(k, "") for k in ("name", "kind", "grade_min", "grade_max", "capacity", "fee_per_lesson")}
        values["is_free"] = post.get("is_free") == "on"
        capacity, gmin, gmax = _int(values["capacity"]), _int(values["grade_min"]), _int(values["grade_max"])
        if capacity is None:
            errors["capacity"] = gettext("名额应为正整数")
        if gmin is None:
            errors["grade_min"] = gettext("请选择年级")
        if gmax is None:
            errors["grade_max"] = gettext("请选择年级")
        if term is None:
            errors["term"] = gettext("请先创建学期")
        if not errors:
            try:
                p = services.programme_create(
                    actor=request.user,
                    school=school,
                    term_id=term.pk,
                    name=values["name"][:100],
                    kind=values["kind"],
                    grade_min=gmin,
                    grade_max=gmax,
                    capacity=capacity,
                    is_free=values["is_free"],
                    fee_per_lesson=values["fee_per_lesson"].strip() or None,
                )
            except DomainError as exc:
                errors = _errors(exc)
            else:
                messages.success(request, format_lazy(_("已创建项目“{name}”"), name=p.name))
                return redirect(reverse("school-programmes", args=(school.pk,)) + f"?term={term.pk}")
        status = 422
    rows = []
    if term is not None:
        rows = list(
            Programme.objects.filter(term=term)
            .annotate(
                enrolled=Count("applications", filter=Q(applications__status=S.APPROVED), distinct=True),
                waiting=Count("applications", filter=Q(applications__status=S.WAITLISTED), distinct=True),
                n_sessions=Count("sessions", distinct=True),
            )
            .order_by("name", "id")
        )
    return render(
        request,
        "afterschool/school/programmes.html",
        {
            "school": school,
            "term": term,
            "terms": school.terms.all(),
            "rows": rows,
            "kinds": Kind.choices,
            "grades": list(school.grades),
            "values": values,
            "errors": errors,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@signed_in
def programme_edit(request, school_id: int, programme_id: int):
    school = _school(request, school_id)
    programme = Programme.objects.filter(school=school, pk=programme_id).select_related("term").first()
    if programme is None:
        raise Http404
    errors, status = {}, 200
    values = {"capacity": str(programme.capacity), "name": programme.name}
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("capacity", "name")}
        capacity = _int(values["capacity"])
        if capacity is None:
            errors, status = {"capacity": gettext("名额应为正整数")}, 422
        else:
            try:
                services.programme_update(
                    actor=request.user, programme=programme, capacity=capacity, name=values["name"]
                )
            except DomainError as exc:
                errors, status = _errors(exc), 422
            else:
                messages.success(request, format_lazy(_("已保存项目“{name}”"), name=values["name"] or programme.name))
                return redirect(reverse("school-programmes", args=(school.pk,)) + f"?term={programme.term_id}")
    enrolled = Application.objects.filter(programme=programme, status=S.APPROVED).count()
    return render(
        request,
        "afterschool/school/programme_edit.html",
        {"school": school, "programme": programme, "values": values, "errors": errors, "enrolled": enrolled},
        status=status,
    )


# --- The timetable editor and its inline check ------------------------------------------------------------------------


@dataclass
class SessionForm:
    programme_id: int | None
    weekdays: list[int]
    starts_at: time | None
    ends_at: time | None
    teacher_id: int | None
    outside_person_id: int | None
    room_id: int | None
    first_date: date | None
    last_date: date | None
    errors: dict

    @classmethod
    def read(cls, data) -> SessionForm:
        errors = {}
        weekdays = sorted({w for w in (_int(x) for x in data.getlist("weekdays")) if w is not None and w <= 4})
        staff = (data.get("staff") or "").strip()
        teacher_id = _int(staff[1:]) if staff.startswith("t") else None
        outside_id = _int(staff[1:]) if staff.startswith("o") else None
        starts_at, ends_at = _time(data.get("starts_at")), _time(data.get("ends_at"))
        if starts_at is None:
            errors["starts_at"] = gettext("请填写时间（时:分）")
        if ends_at is None:
            errors["ends_at"] = gettext("请填写时间（时:分）")
        first_date, last_date = _date(data.get("first_date")), _date(data.get("last_date"))
        if (data.get("first_date") or "").strip() and first_date is None:
            errors["first_date"] = gettext("日期格式应为 年-月-日")
        if (data.get("last_date") or "").strip() and last_date is None:
            errors["last_date"] = gettext("日期格式应为 年-月-日")
        programme_id = _int(data.get("programme"))
        if programme_id is None:
            errors["programme"] = gettext("请选择项目")
        if not weekdays:
            errors["weekdays"] = gettext("请选择上课日")
        if teacher_id is None and outside_id is None:
            errors["staff"] = gettext("请选择授课人员")
        return cls(
            programme_id,
            weekdays,
            starts_at,
            ends_at,
            teacher_id,
            outside_id,
            _int(data.get("room")),
            first_date,
            last_date,
            errors,
        )

    def kwargs(self) -> dict:
        return {
            "weekdays": self.weekdays,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "teacher_id": self.teacher_id,
            "outside_person_id": self.outside_person_id,
            "room_id": self.room_id,
            "first_date": self.first_date,
            "last_date": self.last_date,
        }


def _field_of(exc: DomainError) -> str:
    field = next(iter(exc.fields), "form")
    return {"teacher_id": "staff", "outside_person_id": "staff", "room_id": "room"}.get(field, field)


def _term_sessions(term: Term) -> list[Session]:
    return list(
        Session.objects.filter(programme__term=term)
        .select_related("programme", "room", "staff")
        .order_by("weekday", "starts_at", "id")
    )


def _five_plus_two(term: Term, sessions: list[Session], extra: list[Session] = ()) -> dict:
    """The R-ASS-1 report of the term's sessions (plus the ones being added): the same pure check the API runs."""
    overrides = {d.date: d.follows_weekday for d in term.days.all()}
    days = policy.school_days_of(term, overrides, process_calendar())
    programmes = list(Programme.objects.filter(term=term).only("id", "school_id", "name", "kind"))
    return policy.schedule_report(term, days, [*sessions, *extra], programmes, policy.Rules.on(term.starts_on))


def _editor_context(school: School, term: Term, form_values: dict | None = None) -> dict:
    sessions = _term_sessions(term)
    by_day = [{"weekday": w, "label": WEEKDAY_LABELS[w], "sessions": []} for w in range(5)]
    # Rows as plain text, computed here once: 200 rows through template tags (url, time filters) cost more than
    # the rest of the page together.
    staff_url = reverse("school-session-staff", args=(school.pk, 0)).replace("/0/", "/{}/")
    for s in sessions:
        span = ""
        if s.first_date != term.starts_on or s.last_date != term.ends_on:
            span = f"{s.first_date:%m-%d}–{s.last_date:%m-%d}"
        by_day[s.weekday]["sessions"].append(
            {
                "when": f"{s.starts_at:%H:%M}–{s.ends_at:%H:%M}",
                "programme": s.programme.name,
                "staff": s.staff.name if s.staff_id else "",
                "room": s.room.name if s.room_id else "",
                "span": span,
                "url": staff_url.format(s.pk),
            }
        )
    report = _five_plus_two(term, sessions)
    return {
        "school": school,
        "term": term,
        "terms": school.terms.all(),
        "days": by_day,
        "session_count": len(sessions),
        "report": report,
        "programmes": Programme.objects.filter(term=term).order_by("name", "id"),
        "rooms": Room.objects.filter(school=school).order_by("name"),
        "staff": school_selectors.staff_choices(school, term.starts_on, term.ends_on),
        "weekday_labels": list(enumerate(WEEKDAY_LABELS[:5])),
        "provisional_years": _provisional_years(term),
        "overlapping_terms": selectors.terms_overlapping(school, term.starts_on, term.ends_on, exclude_id=term.pk),
        "values": form_values or {"weekdays": [], "starts_at": "16:00", "ends_at": "18:00"},
        "errors": {},
    }


@require_http_methods(["GET", "POST"])
@signed_in
def timetable_edit(request, school_id: int, term_id: int):
    school = _school(request, school_id)
    term = _term(school, term_id)
    if request.method == "GET":
        return render(request, "afterschool/school/timetable_edit.html", _editor_context(school, term))
    form = SessionForm.read(request.POST)
    keys = ("programme", "starts_at", "ends_at", "staff", "room", "first_date", "last_date")
    values = {k: request.POST.get(k, "") for k in keys}
    values["weekdays"] = form.weekdays
    errors = dict(form.errors)
    programme = Programme.objects.filter(term=term, pk=form.programme_id).select_related("term", "school").first()
    if form.programme_id and programme is None:
        errors["programme"] = gettext("请选择本学期的项目")
    if not errors:
        try:
            created = services.session_create(actor=request.user, programme=programme, **form.kwargs())
        except DomainError as exc:
            errors = {_field_of(exc): exc.message()}
        else:
            messages.success(request, format_lazy(_("已排课 {n} 个课时"), n=len(created)))
            return redirect("school-timetable-edit", school_id=school.pk, term_id=term.pk)
    context = _editor_context(school, term, values)
    context["errors"] = errors
    return render(request, "afterschool/school/timetable_edit.html", context, status=422)


@require_safe
@signed_in
def timetable_check(request, school_id: int, term_id: int):
    """The inline check while editing (htmx, on every change of the form): what saving would answer, and the "5+2"
    report of the term with the new sessions in it. Nothing is written."""
    school = _school(request, school_id)
    term = _term(school, term_id)
    form = SessionForm.read(request.GET)
    problem, field, report = None, None, None
    programme = Programme.objects.filter(term=term, pk=form.programme_id).select_related("term", "school").first()
    ready = programme is not None and form.starts_at and form.ends_at and form.weekdays
    if ready and not (form.teacher_id or form.outside_person_id):
        problem, field = gettext("请选择授课人员"), "staff"
    elif ready:
        try:
            _s, _staff, _room, first, last = services.session_plan(programme=programme, dry_run=True, **form.kwargs())
        except DomainError as exc:
            problem, field = exc.message(), _field_of(exc)
        else:
            extra = [
                Session(weekday=w, starts_at=form.starts_at, ends_at=form.ends_at, first_date=first, last_date=last,
                        programme_id=programme.pk)
                for w in form.weekdays
            ]  # fmt: skip
            report = _five_plus_two(term, _term_sessions_light(term), extra)
    return render(
        request,
        "afterschool/school/_check.html",
        {"ready": ready, "problem": problem, "field": field, "report": report},
    )


def _term_sessions_light(term: Term) -> list[Session]:
    return list(
        Session.objects.filter(programme__term=term).only(
            "id", "programme_id", "school_id", "weekday", "starts_at", "ends_at", "first_date", "last_date"
        )
    )


@require_POST
@signed_in
def session_delete(request, school_id: int, session_id: int):
    school = _school(request, school_id)
    session = Session.objects.filter(school=school, pk=session_id).select_related("programme", "school").first()
    if session is None:
        raise Http404
    term_id = session.programme.term_id
    try:
        services.session_delete(actor=request.user, session=session)
    except DomainError as exc:
        messages.error(request, exc.message())
    else:
        messages.success(request, gettext("已删除课时"))
    return redirect("school-timetable-edit", school_id=school.pk, term_id=term_id)


@require_http_methods(["GET", "POST"])
@signed_in
def session_staff(request, school_id: int, session_id: int):
    """Staff assignment: the picker shows each person's admission status and expiry and offers only those who may
    teach on the session's dates."""
    school = _school(request, school_id)
    session = (
        Session.objects.filter(school=school, pk=session_id).select_related("programme__term", "room", "staff").first()
    )
    if session is None:
        raise Http404
    errors, status = {}, 200
    if request.method == "POST":
        staff = (request.POST.get("staff") or "").strip()
        teacher_id = _int(staff[1:]) if staff.startswith("t") else None
        outside_id = _int(staff[1:]) if staff.startswith("o") else None
        if teacher_id is None and outside_id is None:
            errors, status = {"staff": gettext("请选择授课人员")}, 422
        else:
            try:
                services.session_staff_assign(
                    actor=request.user, session=session, teacher_id=teacher_id, outside_person_id=outside_id
                )
            except DomainError as exc:
                errors, status = {"staff": exc.message()}, 422
            else:
                messages.success(request, gettext("已安排授课人员"))
                return redirect("school-timetable-edit", school_id=school.pk, term_id=session.programme.term_id)
    choices = school_selectors.staff_choices(school, session.first_date, session.last_date)
    return render(
        request,
        "afterschool/school/session_staff.html",
        {"school": school, "session": session, "staff": choices, "errors": errors,
         "weekday": WEEKDAY_LABELS[session.weekday]},
        status=status,
    )  # fmt: skip


# --- Choice windows and the lottery -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@signed_in
def windows(request, school_id: int):
    school = _school(request, school_id)
    term = _chosen_term(request, school)
    values, errors, status = {"programme_ids": []}, {}, 200
    if request.method == "POST":
        post = request.POST
        values = {k: post.get(k, "") for k in ("name", "opens_at", "closes_at")}
        values["programme_ids"] = [i for i in (_int(x) for x in post.getlist("programme_ids")) if i]
        opens_at, closes_at = _datetime(values["opens_at"]), _datetime(values["closes_at"])
        if opens_at is None:
            errors["opens_at"] = gettext("请填写开始时间")
        if closes_at is None:
            errors["closes_at"] = gettext("请填写截止时间")
        if not values["programme_ids"]:
            errors["programme_ids"] = gettext("请至少选择一个项目")
        if term is None:
            errors["term"] = gettext("请先创建学期")
        if not errors:
            try:
                window = enrolment.window_create(
                    actor=request.user,
                    school=school,
                    term_id=term.pk,
                    name=values["name"][:100],
                    programme_ids=values["programme_ids"],
                    opens_at=opens_at,
                    closes_at=closes_at,
                )
            except DomainError as exc:
                errors = _errors(exc)
            else:
                messages.success(request, format_lazy(_("已开放志愿填报“{name}”"), name=window.name))
                return redirect("school-window", school_id=school.pk, window_id=window.pk)
        status = 422
    rows = []
    if term is not None:
        rows = list(
            ChoiceWindow.objects.filter(term=term)
            .annotate(students=Count("applications__student", distinct=True))
            .order_by("-opens_at", "id")
        )
    return render(
        request,
        "afterschool/school/windows.html",
        {
            "school": school,
            "term": term,
            "terms": school.terms.all(),
            "rows": rows,
            "programmes": Programme.objects.filter(term=term).order_by("name") if term else [],
            "values": values,
            "errors": errors,
        },
        status=status,
    )


WAITLIST_SHOWN = 50


@require_http_methods(["GET", "POST"])
@signed_in
def window_detail(request, school_id: int, window_id: int):
    school = _school(request, school_id)
    window = ChoiceWindow.objects.filter(school=school, pk=window_id).select_related("term").first()
    if window is None:
        raise Http404
    errors, status = {}, 200
    if request.method == "POST":
        raw = (request.POST.get("seed") or "").strip()
        seed = _int(raw) if raw else None
        if raw and (seed is None or seed >= 2**62):
            errors, status = {"seed": gettext("种子应为非负整数")}, 422
        else:
            try:
                enrolment.window_allocate(actor=request.user, window_id=window.pk, seed=seed, early=True)
            except DomainError as exc:
                errors, status = {"seed": exc.message()}, exc.status
            else:
                messages.success(request, gettext("已截止并完成分配"))
                return redirect("school-window", school_id=school.pk, window_id=window.pk)
    programmes = list(
        window.programmes.annotate(
            choices=Count("applications", filter=Q(applications__window=window), distinct=True),
            placed=Count("applications", filter=Q(applications__window=window, applications__status=S.APPROVED),
                         distinct=True),
            waiting=Count("applications", filter=Q(applications__window=window, applications__status=S.WAITLISTED),
                          distinct=True),
        ).order_by("name")
    )  # fmt: skip
    waitlists = {}
    if window.status == ChoiceWindow.Status.ALLOCATED:
        rows = (
            Application.objects.filter(window=window, status=S.WAITLISTED)
            .select_related("student__school_class")
            .order_by("programme_id", "-priority", "lottery_number", "created_at", "id")
        )
        for a in rows:
            shown = waitlists.setdefault(a.programme_id, [])
            if len(shown) < WAITLIST_SHOWN:
                shown.append(a)
    for p in programmes:
        p.waitlist = waitlists.get(p.pk, [])
    applicants = Application.objects.filter(window=window).values("student_id").distinct().count()
    return render(
        request,
        "afterschool/school/window.html",
        {
            "school": school,
            "window": window,
            "programmes": programmes,
            "applicants": applicants,
            "errors": errors,
            "now": timezone.now(),
        },
        status=status,
    )


# --- Applications -----------------------------------------------------------------------------------------------------


@require_safe
@signed_in
def applications(request, school_id: int):
    """The school's applications, filterable by term, window, programme and status, fifty a page (any number of
    pages): the same selector filters as the API's list."""
    school = _school(request, school_id)
    term = _chosen_term(request, school)
    window_raw = request.GET.get("window", "")
    window_id = _int(window_raw) if window_raw != "" else None
    status = request.GET.get("status") or ""
    if status not in S.values:
        status = ""
    programme_id = _int(request.GET.get("programme"))
    qs = selectors.applications_filtered(
        selectors.applications_of_school(school),
        status=status or None,
        programme_id=programme_id,
        window_id=window_id,
        term_id=term.pk if term else None,
    ).select_related("student__school_class", "programme")
    page = Paginator(qs.order_by("-priority", "created_at", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    # Rows as plain values, computed once (labels, addresses): fifty rows through template lookups and lazy labels
    # cost more than the query.
    labels = {value: str(label) for value, label in S.choices}
    decide = reverse("school-application-decide", args=(school.pk, 0)).replace("/0/", "/{}/")
    rows = [
        {
            "pk": a.pk,
            "student": a.student.name,
            "klass": a.student.school_class.label,
            "priority": a.priority,
            "programme": a.programme.name,
            "status": a.status,
            "status_label": labels[a.status],
            "rank": a.rank,
            "lottery_number": a.lottery_number,
            "decide": decide.format(a.pk) if a.status == S.PENDING else "",
        }
        for a in page.object_list
    ]
    query = {"term": term.pk if term else "", "window": window_raw, "status": status, "programme": programme_id or ""}
    return render(
        request,
        "afterschool/school/applications.html",
        {
            "school": school,
            "term": term,
            "options": _filter_options(term, school, window_raw, status, programme_id, labels),
            "page": page,
            "rows": rows,
            "here": request.get_full_path(),
            "filters": {k: str(v) for k, v in query.items()},
            "query": urlencode({k: v for k, v in query.items() if v != ""}),
        },
    )


def _filter_options(term, school, window_raw, status, programme_id, labels) -> dict[str, list[tuple]]:
    """The filter menus as (value, label, selected) rows, decided here rather than in template conditions."""
    terms = [(t.pk, t.name, t == term) for t in school.terms.all()]
    windows = [("0", gettext("非志愿报名"), window_raw == "0")]
    programmes = []
    if term is not None:
        windows += [(w.pk, w.name, window_raw == str(w.pk)) for w in ChoiceWindow.objects.filter(term=term)]
        programmes = [
            (pk, name, pk == programme_id)
            for pk, name in Programme.objects.filter(term=term).order_by("name").values_list("pk", "name")
        ]
    statuses = [(value, label, value == status) for value, label in labels.items()]
    return {"terms": terms, "windows": windows, "programmes": programmes, "statuses": statuses}


@require_POST
@signed_in
def application_decide(request, school_id: int, application_id: int):
    school = _school(request, school_id)
    app = Application.objects.filter(programme__school=school, pk=application_id).first()
    if app is None:
        raise Http404
    action = request.POST.get("action")
    try:
        if action == "approve":
            enrolment.application_approve(actor=request.user, application_id=app.pk)
            messages.success(request, gettext("已通过"))
        elif action == "reject":
            reason = (request.POST.get("reason") or "").strip()[:200] or gettext("学校未通过")
            enrolment.application_reject(actor=request.user, application_id=app.pk, reason=reason)
            messages.success(request, gettext("已不予通过"))
        else:
            raise Http404
    except DomainError as exc:
        messages.error(request, exc.message())
    back = request.POST.get("next") or ""
    if back.startswith(reverse("school-applications", args=(school.pk,))):
        return redirect(back)
    return redirect("school-applications", school_id=school.pk)


# --- Rosters and attendance gaps --------------------------------------------------------------------------------------


@require_safe
@signed_in
def rosters(request, school_id: int):
    school = _school(request, school_id)
    term = _chosen_term(request, school)
    today = timezone.localdate()
    rows = []
    if term is not None:
        rows = list(
            Programme.objects.filter(term=term)
            .annotate(
                on_roster=Count("applications", filter=Q(selectors_enrolled_prefix(today)), distinct=True),
            )
            .order_by("name", "id")
        )
    return render(
        request,
        "afterschool/school/rosters.html",
        {"school": school, "term": term, "terms": school.terms.all(), "rows": rows, "today": today},
    )


def selectors_enrolled_prefix(day: date) -> Q:
    """selectors.enrolled_on(day), seen from the programme (applications__…)."""
    q = selectors.enrolled_on(day)
    return _prefix(q, "applications__")


def _prefix(q: Q, prefix: str) -> Q:
    out = Q()
    out.connector, out.negated = q.connector, q.negated
    for child in q.children:
        out.children.append(_prefix(child, prefix) if isinstance(child, Q) else (prefix + child[0], child[1]))
    return out


@require_safe
@signed_in
def gaps(request, school_id: int):
    """Planned lessons without attendance or a not-held record, up to the date the fee allocation counts to (the
    same default as the allocation and the API: fee_allocation.gaps_until)."""
    school = _school(request, school_id)
    term = _chosen_term(request, school)
    rows, until = [], None
    if term is not None:
        until = fee_allocation.gaps_until(term, _date(request.GET.get("until")))
        if until >= term.starts_on:
            rows = fee_allocation.attendance_gaps([term], until, limit=500).get(term.pk, [])
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "afterschool/school/gaps.html",
        {"school": school, "term": term, "terms": school.terms.all(), "until": until, "page": page},
    )
