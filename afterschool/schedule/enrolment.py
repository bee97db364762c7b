"""Enrolment: a parent applies for their child, the class teacher approves, the school runs it. Popular programmes
go through a choice window and a recorded lottery; the waitlist moves up by itself when a place frees.

Capacity is guarded by a lock on the programme row: two approvals at once cannot both take the last place.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts import scope
from accounts.models import Role
from core.audit import audit_log
from core.dispatch import enqueue_on_commit
from core.errors import DomainError, NotFound
from core.models import AuditEvent
from core.notifications import notify
from core.transitions import transition, transition_many

from . import calendar
from .allocation import Applicant, allocate
from .models import WEEKDAY_LABELS, Application, ChoiceWindow, Programme, Session, Student
from .permissions import access_child
from .services import overlapping, sessions_overlap
from .signals import application_withdrawn

S = Application.Status


def _today() -> date:
    return timezone.localdate()


def _start_day(programme: Programme) -> date:
    """A new place counts from today when today is a school day, else from the next school day (and never before
    the term starts)."""
    term = programme.term
    day = max(_today(), term.starts_on)
    if calendar.timetable_weekday(term, day) is None:
        day = calendar.next_school_day(term, day)
    return day


def _occupied(programme: Programme) -> int:
    return Application.objects.filter(programme=programme, status=S.APPROVED).count()


def _lock_programme(programme_id: int) -> Programme:
    return Programme.objects.select_for_update().select_related("term", "school").get(pk=programme_id)


def student_clash(student: Student, programme: Programme) -> Session | None:
    """A session of another programme the student is enrolled in that meets at the same time as one of this
    programme's sessions."""
    mine = list(programme.sessions.all())
    if not mine:
        return None
    theirs = Session.objects.filter(
        programme__applications__student=student,
        programme__applications__status=S.APPROVED,
    ).exclude(programme=programme)
    for s in mine:
        other = (
            overlapping(
                theirs,
                weekday=s.weekday,
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                first_date=s.first_date,
                last_date=s.last_date,
            )
            .select_related("programme")
            .first()
        )
        if other:
            return other
    return None


def _student_clash_error(student: Student, other: Session) -> DomainError:
    message = format_lazy(
        _("时间冲突：{student}在{weekday} {starts}-{ends}已参加“{programme}”"),
        student=student.name,
        weekday=WEEKDAY_LABELS[other.weekday],
        starts=f"{other.starts_at:%H:%M}",
        ends=f"{other.ends_at:%H:%M}",
        programme=other.programme.name,
    )
    return DomainError("application.student_clash", message, status=409, fields={"programme_id": message})


def _notify_parents(application: Application, kind: str, title, body) -> None:
    notify(
        recipients=application.student.guardians.all(),
        kind=kind,
        title=title,
        body=body,
        obj=application,
        payload={"application_id": application.pk, "status": application.status},
        dedupe_key=f"{kind}.{application.pk}.{application.status}",
    )


# --- Apply, approve, reject, withdraw ---------------------------------------------------------------------------------


@transaction.atomic
def application_submit(*, actor, student_id: int, programme_id: int) -> Application:
    student = access_child(actor, student_id)  # someone else's child: 404, as if missing
    programme = Programme.objects.filter(pk=programme_id, school_id=student.school_id).select_related("term").first()
    if programme is None:
        raise NotFound(_("项目不存在"))
    if not programme.admits_grade(student.grade):
        raise DomainError(
            "application.grade_not_admitted",
            format_lazy(
                _("该项目面向{grade_min}至{grade_max}年级"),
                grade_min=programme.grade_min,
                grade_max=programme.grade_max,
            ),
            status=422,
            fields={"programme_id": _("年级不符")},
        )
    if programme.term.ends_on < _today():
        raise DomainError("application.term_over", _("该学期已结束"), status=409)
    now = timezone.now()
    if programme.choice_windows.filter(status=ChoiceWindow.Status.OPEN, closes_at__gt=now).exists():
        raise DomainError(
            "application.use_choice_window",
            _("该项目正在志愿填报中，请在志愿填报中选择"),
            status=409,
        )
    if Application.objects.filter(student=student, programme=programme, status__in=Application.LIVE).exists():
        raise _duplicate()
    try:
        with transaction.atomic():
            application = Application.objects.create(
                student=student,
                programme=programme,
                applied_by=actor,
                priority=student.has_priority,
            )
    except IntegrityError:
        raise _duplicate() from None  # a second tap that raced the first
    audit_log(actor=actor, verb="afterschool.application_submitted", obj=application, to_state=S.PENDING)
    teacher_id = student.school_class.class_teacher_id
    if teacher_id:
        notify(
            recipients=[teacher_id],
            kind="afterschool.application_submitted",
            title=_("课后服务报名待审核"),
            body=format_lazy(_("{programme}：有一份新的报名待您审核。"), programme=programme.name),
            obj=application,
        )
    return application


def _duplicate() -> DomainError:
    return DomainError(
        "application.duplicate",
        _("该学生已报名此项目"),
        status=409,
        fields={"programme_id": _("已报名")},
    )


def _access_for_decision(actor, application_id: int) -> Application:
    """The class teacher of the student's class, or an admin of the school; anyone else gets 404."""
    app = (
        Application.objects.select_for_update(of=("self",))
        .select_related("student__school_class", "programme__term")
        .filter(pk=application_id)
        .first()
    )
    if app is None:
        raise NotFound(_("报名不存在"))
    school_id = app.programme.school_id
    is_class_teacher = app.student.school_class.class_teacher_id == actor.pk and school_id in scope.school_ids(
        actor, Role.TEACHER
    )
    if not (is_class_teacher or school_id in scope.school_ids(actor, Role.SCHOOL_ADMIN)):
        raise NotFound(_("报名不存在"))
    return app


def _not_pending(app: Application) -> DomainError:
    return DomainError("application.not_pending", _("该报名不在待审核状态"), status=409)


def _not_live(app: Application) -> DomainError:
    return DomainError("application.not_live", _("该报名已结束"), status=409)


def _place(app: Application, *, actor, from_state: str, active_from: date, note: str = "") -> None:
    transition(
        app,
        actor=actor,
        verb="afterschool.application_approved",
        allowed_from=from_state,
        to=S.APPROVED,
        fields={
            "active_from": active_from,
            "decided_by": actor if getattr(actor, "pk", None) else None,
            "decided_at": timezone.now(),
            "note": note or app.note,
        },
        data={"active_from": str(active_from), "note": note},
        error=_not_pending if from_state == S.PENDING else None,
    )


@transaction.atomic
def application_approve(*, actor, application_id: int) -> Application:
    app = _access_for_decision(actor, application_id)
    if app.status != S.PENDING:  # before the programme's lock; the transition holds the same rule
        raise _not_pending(app)
    programme = _lock_programme(app.programme_id)
    clash = student_clash(app.student, programme)
    if clash:
        raise _student_clash_error(app.student, clash)
    if _occupied(programme) >= programme.capacity:
        transition(
            app, actor=actor, verb="afterschool.application_waitlisted", allowed_from=S.PENDING, to=S.WAITLISTED,
            fields={"decided_by": actor, "decided_at": timezone.now()}, error=_not_pending,
        )  # fmt: skip
        _notify_parents(
            app,
            "afterschool.application_waitlisted",
            _("课后服务报名：候补"),
            format_lazy(_("{programme}名额已满，已进入候补。"), programme=programme.name),
        )
        return app
    _place(app, actor=actor, from_state=S.PENDING, active_from=_start_day(programme))
    _notify_parents(
        app,
        "afterschool.application_approved",
        _("课后服务报名已通过"),
        format_lazy(_("{programme}：报名已通过，自{start}起参加。"), programme=programme.name, start=app.active_from),
    )
    return app


@transaction.atomic
def application_reject(*, actor, application_id: int, reason: str) -> Application:
    app = _access_for_decision(actor, application_id)
    if app.status != S.PENDING:  # before the reason is looked at; the transition holds the same rule
        raise _not_pending(app)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            "application.reason_required",
            _("请说明原因"),
            status=422,
            fields={"reason": _("必填")},
        )
    transition(
        app, actor=actor, verb="afterschool.application_rejected", allowed_from=S.PENDING, to=S.REJECTED,
        fields={"note": reason[:200], "decided_by": actor, "decided_at": timezone.now()},
        data={"reason": reason[:200]}, error=_not_pending,
    )  # fmt: skip
    _notify_parents(
        app, "afterschool.application_rejected", _("课后服务报名未通过"), f"{app.programme.name}：{reason[:100]}"
    )
    return app


@transaction.atomic
def application_withdraw(*, actor, application_id: int) -> Application:
    """A parent (or the school) withdraws at any time: an enrolment ends from the next school day, and the place
    it frees goes to the first child on the waitlist."""
    app = (
        Application.objects.select_for_update(of=("self",))
        .select_related("student__school_class", "programme__term")
        .filter(pk=application_id)
        .first()
    )
    if app is None or not (
        app.student.guardians.filter(pk=actor.pk).exists()
        or app.programme.school_id in scope.school_ids(actor, Role.SCHOOL_ADMIN)
    ):
        raise NotFound(_("报名不存在"))
    if app.status not in Application.LIVE:  # before the programme's lock; the transition holds the same rule
        raise _not_live(app)
    before = app.status
    programme = _lock_programme(app.programme_id)
    effective = None
    if before == S.APPROVED:
        effective = max(calendar.next_school_day(programme.term, _today()), app.active_from or _today())
    transition(
        app, actor=actor, verb="afterschool.application_withdrawn", allowed_from=Application.LIVE, to=S.WITHDRAWN,
        fields={"active_until_excl": effective or app.active_until_excl},
        data={"effective_from": str(effective) if effective else None}, error=_not_live,
    )  # fmt: skip
    if before == S.APPROVED:
        # R-ASS-3: fees refunds pro rata, once the bill is out (afterschool.fees.services.refund_on_withdrawal)
        application_withdrawn.send(sender=Application, app=app, effective=effective, actor=actor)
        waitlist_move_up(programme=programme, actor=None, from_day=effective)
    return app


def waitlist_order(programme: Programme):
    return Application.objects.filter(programme=programme, status=S.WAITLISTED).order_by(
        "-priority", "lottery_number", "created_at", "id"
    )


def waitlist_move_up(*, programme: Programme, actor, from_day: date | None = None) -> list[Application]:
    """Fill free places from the waitlist (priority, then lottery number, then time of application). Called with the
    programme row locked. A child placed this way leaves the other waitlists of the same choice window."""
    placed = []
    free = programme.capacity - _occupied(programme)
    if free <= 0:
        return placed
    start = max(from_day or _start_day(programme), _start_day(programme))
    for app in waitlist_order(programme).select_related("student")[: free * 3]:
        if free <= 0:
            break
        if student_clash(app.student, programme):
            continue
        _place(app, actor=actor, from_state=S.WAITLISTED, active_from=start, note="候补递补")
        placed.append(app)
        free -= 1
        if app.window_id:
            transition_many(
                Application.objects.filter(window_id=app.window_id, student_id=app.student_id).exclude(pk=app.pk),
                actor=actor, verb="afterschool.application_not_placed", allowed_from=S.WAITLISTED, to=S.NOT_PLACED,
                data={"placed_in": programme.pk},
            )  # fmt: skip
        _notify_parents(
            app,
            "afterschool.waitlist_moved_up",
            _("课后服务候补已递补"),
            format_lazy(
                _("{programme}：有空位，您的孩子已录取，自{start}起参加。"), programme=programme.name, start=start
            ),
        )
    return placed


# --- Choice windows ---------------------------------------------------------------------------------------------------


@transaction.atomic
def window_create(
    *, actor, school, term_id: int, name: str, programme_ids: list[int], opens_at: datetime, closes_at: datetime
) -> ChoiceWindow:
    term = school.terms.filter(pk=term_id).first()
    if term is None:
        raise DomainError(
            "window.term_unknown",
            _("本校没有该学期"),
            status=422,
            fields={"term_id": _("无效")},
        )
    if (closes_at - opens_at).days > 92 or opens_at.year < 2000 or closes_at.year > 2099:
        raise DomainError(
            "window.too_long",
            _("志愿填报须在 2000 至 2099 年间，且不超过 92 天"),
            status=422,
            fields={"closes_at": _("无效")},
        )
    if closes_at <= opens_at:
        raise DomainError(
            "window.closes_before_open",
            _("截止时间须晚于开始时间"),
            status=422,
            fields={"closes_at": _("须晚于开始时间")},
        )
    programmes = list(Programme.objects.filter(term=term, pk__in=set(programme_ids)))
    if not programmes or len(programmes) != len(set(programme_ids)):
        raise DomainError(
            "window.programme_unknown",
            _("项目须属于该学期"),
            status=422,
            fields={"programme_ids": _("无效")},
        )
    window = ChoiceWindow.objects.create(
        school=school, term=term, name=name.strip() or "志愿填报", opens_at=opens_at, closes_at=closes_at
    )
    window.programmes.set(programmes)
    audit_log(
        actor=actor,
        verb="afterschool.window_created",
        obj=window,
        to_state=ChoiceWindow.Status.OPEN,
        data={"programmes": sorted(p.pk for p in programmes)},
    )
    return window


@transaction.atomic
def choices_submit(*, actor, window_id: int, student_id: int, programme_ids: list[int]) -> list[Application]:
    """A parent ranks up to 3 programmes of the window for their child; sending again replaces the ranking."""
    student = access_child(actor, student_id)
    window = ChoiceWindow.objects.select_for_update().filter(pk=window_id, school_id=student.school_id).first()
    if window is None:
        raise NotFound(_("志愿填报不存在"))
    now = timezone.now()
    if window.status != ChoiceWindow.Status.OPEN or not window.opens_at <= now < window.closes_at:
        raise DomainError("window.closed", _("志愿填报未开放或已截止"), status=409)
    if not 1 <= len(programme_ids) <= 3 or len(set(programme_ids)) != len(programme_ids):
        raise DomainError(
            "window.choices_invalid",
            _("请选择 1 至 3 个不同的项目"),
            status=422,
            fields={"programme_ids": _("1–3 个不同项目")},
        )
    programmes = {p.pk: p for p in window.programmes.all()}
    for pid in programme_ids:
        p = programmes.get(pid)
        if p is None:
            raise DomainError(
                "window.programme_unknown",
                _("该项目不在本次志愿填报中"),
                status=422,
                fields={"programme_ids": _("无效")},
            )
        if not p.admits_grade(student.grade):
            raise DomainError(
                "application.grade_not_admitted",
                format_lazy(_("“{name}”不面向该年级"), name=p.name),
                status=422,
                fields={"programme_ids": _("年级不符")},
            )
    Application.objects.filter(window=window, student=student, status=S.CHOICE).delete()
    if Application.objects.filter(
        student=student, programme_id__in=programme_ids, status__in=Application.LIVE
    ).exists():
        raise _duplicate()
    rows = Application.objects.bulk_create(
        [
            Application(
                student=student,
                programme_id=pid,
                applied_by=actor,
                status=S.CHOICE,
                window=window,
                rank=i + 1,
                priority=student.has_priority,
            )
            for i, pid in enumerate(programme_ids)
        ]
    )
    audit_log(
        actor=actor,
        verb="afterschool.choices_submitted",
        obj=window,
        to_state=S.CHOICE,
        data={"student": student.pk, "programmes": programme_ids},
    )
    return rows


def _window_clashes(window: ChoiceWindow, student_ids: set[int]) -> dict[int, set[int]]:
    """{student id: window programmes whose sessions overlap a programme the student is already enrolled in}."""
    window_sessions = list(Session.objects.filter(programme__in=window.programmes.all()))
    enrolled = list(
        Application.objects.filter(student_id__in=student_ids, status=S.APPROVED)
        .exclude(programme__in=window.programmes.all())
        .values_list("student_id", "programme_id")
    )
    if not enrolled or not window_sessions:
        return {}
    by_programme: dict[int, list[Session]] = {}
    for s in Session.objects.filter(programme_id__in={p for _student, p in enrolled}):
        by_programme.setdefault(s.programme_id, []).append(s)
    clashes: dict[int, set[int]] = {}
    for sid, pid in enrolled:
        for theirs in by_programme.get(pid, []):
            for ws in window_sessions:
                if sessions_overlap(theirs, ws):
                    clashes.setdefault(sid, set()).add(ws.programme_id)
    return clashes


@transaction.atomic
def window_allocate(*, actor, window_id: int, seed: int | None = None, early: bool = False) -> ChoiceWindow:
    """Close the window and allocate. `early`: the school admin closes it before its time."""
    window = ChoiceWindow.objects.select_for_update().filter(pk=window_id).first()
    if window is None:
        raise NotFound(_("志愿填报不存在"))
    if window.status != ChoiceWindow.Status.OPEN:  # before the work; the transition holds the same rule
        raise _already_allocated(window)
    if not early and window.closes_at > timezone.now():
        raise DomainError("window.not_closed", _("志愿填报尚未截止"), status=409)
    seed = seed if seed is not None else secrets.randbits(62)
    programmes = {
        p.pk: p for p in Programme.objects.select_for_update().filter(choice_windows=window).select_related("term")
    }
    occupied = dict(
        Application.objects.filter(programme_id__in=programmes, status=S.APPROVED)
        .values_list("programme_id")
        .annotate(n=Count("id"))
        .values_list("programme_id", "n")
    )
    free = {pid: p.capacity - occupied.get(pid, 0) for pid, p in programmes.items()}
    rows = list(Application.objects.filter(window=window, status=S.CHOICE).order_by("student_id", "rank"))
    by_student: dict[int, list[Application]] = {}
    for r in rows:
        by_student.setdefault(r.student_id, []).append(r)
    clashes = _window_clashes(window, set(by_student))
    applicants = [
        Applicant(
            student_id=sid,
            priority=apps[0].priority,
            choices=tuple(a.programme_id for a in apps),
            excluded=frozenset(clashes.get(sid, ())),
        )
        for sid, apps in by_student.items()
    ]
    result = allocate(applicants, free, seed)
    start = {pid: _start_day(p) for pid, p in programmes.items()}
    waiting = {(sid, pid) for pid, sids in result.waitlist.items() for sid in sids}
    now = timezone.now()
    decider = actor if getattr(actor, "pk", None) else None
    audits = []
    for sid, apps in by_student.items():
        placed = result.placed.get(sid)
        for a in apps:
            a.lottery_number = result.lottery[sid]
            a.decided_at, a.decided_by = now, decider
            if placed and placed[0] == a.programme_id:
                a.status, a.active_from = S.APPROVED, start[a.programme_id]
            elif (sid, a.programme_id) in waiting:
                a.status = S.WAITLISTED
            else:
                a.status = S.NOT_PLACED
            audits.append(
                AuditEvent(
                    actor=decider,
                    actor_label=str(actor) if actor is not None else "system",
                    verb="afterschool.application_allocated",
                    object_type="afterschool.application",
                    object_id=str(a.pk),
                    from_state=S.CHOICE,
                    to_state=a.status,
                    data={"window": window.pk, "lottery_number": a.lottery_number, "rank": a.rank},
                )
            )
    _write_allocation(window, rows, now=now, decider=decider)
    AuditEvent.objects.bulk_create(audits, batch_size=500)
    summary = {
        "seed": seed,
        "applicants": len(applicants),
        "placed": len(result.placed),
        "waitlisted": len({sid for sids in result.waitlist.values() for sid in sids}),
        "free_places_before": {str(k): v for k, v in free.items()},
    }
    transition(
        window, actor=actor, verb="afterschool.window_allocated", allowed_from=ChoiceWindow.Status.OPEN,
        to=ChoiceWindow.Status.ALLOCATED, fields={"seed": seed, "allocated_at": now, "result": summary},
        data=summary, error=_already_allocated,
    )  # fmt: skip
    enqueue_on_commit("afterschool.notify_allocation_results", args=[window.pk])
    return window


def _already_allocated(window: ChoiceWindow) -> DomainError:
    return DomainError("window.already_allocated", _("该志愿填报已分配"), status=409)


def _chunks(items: list, size: int = 1000):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _write_allocation(window: ChoiceWindow, rows: list[Application], *, now, decider) -> None:
    """Statuses and start days in a few grouped UPDATEs, lottery numbers in one UPDATE … FROM (VALUES …) per 1,000
    rows: Django's bulk_update writes a CASE per row and field, which took seconds for 6,000 rows."""
    Application.objects.filter(window=window, status=S.CHOICE).update(decided_at=now, decided_by=decider)
    by_status: dict[str, list[int]] = {}
    by_start: dict[date, list[int]] = {}
    for a in rows:
        by_status.setdefault(a.status, []).append(a.pk)
        if a.status == S.APPROVED:
            by_start.setdefault(a.active_from, []).append(a.pk)
    for status, ids in by_status.items():
        for chunk in _chunks(ids):
            Application.objects.filter(pk__in=chunk).update(status=status)
    for day, ids in by_start.items():
        for chunk in _chunks(ids):
            Application.objects.filter(pk__in=chunk).update(active_from=day)
    table = connection.ops.quote_name(Application._meta.db_table)
    with connection.cursor() as cursor:
        for chunk in _chunks([(a.pk, a.lottery_number) for a in rows]):
            # VALUES columns are column1, column2 on both PostgreSQL and SQLite (3.33+ has UPDATE … FROM).
            values = ", ".join(["(%s, %s)"] * len(chunk))
            cursor.execute(
                f"UPDATE {table} SET lottery_number = v.column2 FROM (VALUES {values}) AS v "  # noqa: S608 - no input
                f"WHERE {table}.id = v.column1",
                [x for pair in chunk for x in pair],
            )


def notify_window_results(window_id: int) -> int:
    """One notification per parent and child with the result (idempotent: deduplicated per application)."""
    sent = 0
    apps = (
        Application.objects.filter(window_id=window_id)
        .exclude(status=S.CHOICE)
        .select_related("programme", "student")
        .prefetch_related("student__guardians")
        .order_by("student_id", "rank")
    )
    by_student: dict[int, list[Application]] = {}
    for a in apps:
        by_student.setdefault(a.student_id, []).append(a)
    for apps_of_child in by_student.values():
        placed = next((a for a in apps_of_child if a.status == S.APPROVED), None)
        child = apps_of_child[0].student
        if placed:
            body = format_lazy(
                _("{child}：已录取“{programme}”（第{rank}志愿）。"),
                child=child.name,
                programme=placed.programme.name,
                rank=placed.rank,
            )
        else:
            body = format_lazy(_("{child}：暂未录取，已进入候补。"), child=child.name)
        notify(
            recipients=child.guardians.all(),
            kind="afterschool.allocation_result",
            title=_("课后服务志愿分配结果"),
            body=body,
            obj=placed or apps_of_child[0],
            payload={
                "window_id": window_id,
                "student_id": child.pk,
                "placed_programme_id": placed.programme_id if placed else None,
            },
            dedupe_key=f"afterschool.allocation.{window_id}.{child.pk}",
        )
        sent += 1
    return sent


def windows_due() -> list[int]:
    return list(
        ChoiceWindow.objects.filter(status=ChoiceWindow.Status.OPEN, closes_at__lte=timezone.now()).values_list(
            "pk", flat=True
        )
    )
