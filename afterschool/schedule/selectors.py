"""Reads of after-school services, already scoped to the caller: parents their own children, teachers their
sessions and classes, school admins their school, bureau staff the schools of their towns."""

from __future__ import annotations

from datetime import date, time, timedelta

from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet

from accounts import scope
from accounts.models import Role

from .calendar import process_calendar, school_days_on
from .models import Application, Attendance, School, Session, Student, Term

BUREAU_ROLES = (Role.BUREAU_ADMIN, Role.BUREAU_STAFF, Role.INSPECTOR)


def school_names(ids) -> dict[int, str]:
    """{id: name} of these schools, in one query (accounts asks it, through accounts.places, for memberships)."""
    return dict(School.objects.filter(pk__in=list(ids)).values_list("pk", "name"))


def school_names_in_towns(town_ids) -> dict[int, str]:
    """{id: name} of the schools in these towns, in one query (accounts asks it for invitations)."""
    return dict(School.objects.filter(town_id__in=list(town_ids)).values_list("pk", "name"))


def schools_visible_to(user) -> QuerySet[School]:
    """Schools a user may read: their own (school admin, teacher) and those in the towns of their bureau roles."""
    own = scope.school_ids(user)
    towns = scope.town_ids(user, *BUREAU_ROLES)
    if not own and not towns:
        return School.objects.none()
    return School.objects.filter(Q(pk__in=own) | Q(town_id__in=towns))


def children_of(user) -> QuerySet[Student]:
    return Student.objects.filter(guardians=user, is_active=True)


def current_term(school: School, on: date) -> Term | None:
    return (
        Term.objects.filter(school=school, starts_on__lte=on, ends_on__gte=on).first()
        or Term.objects.filter(school=school, starts_on__gt=on).order_by("starts_on").first()
        or Term.objects.filter(school=school).order_by("-ends_on").first()
    )


def applications_visible_to(user) -> QuerySet[Application]:
    """Parents: their children's; class teachers: their classes'; school admins: their school's."""
    admin = scope.school_ids(user, Role.SCHOOL_ADMIN)
    return Application.objects.filter(
        Q(student__guardians=user)
        | Q(student__school_class__class_teacher=user, student__school_id__in=scope.school_ids(user, Role.TEACHER))
        | Q(programme__school_id__in=admin)
    ).distinct()


def enrolled_on(day: date) -> Q:
    """Applications whose student is on the roster on `day`: approved, or withdrawn with effect from a later day."""
    return Q(status__in=[Application.Status.APPROVED, Application.Status.WITHDRAWN], active_from__lte=day) & (
        Q(active_until_excl__isnull=True) | Q(active_until_excl__gt=day)
    )


def participation(school_ids, day: date) -> dict[int, tuple[int, int]]:
    """{school id: (students enrolled in at least one programme on `day`, active students)}: one query."""
    enrolled = Application.objects.filter(enrolled_on(day), student_id=OuterRef("pk"))
    rows = (
        Student.objects.filter(school_id__in=school_ids, is_active=True)
        .values("school_id")
        .annotate(n=Count("id"), enrolled=Count("id", filter=Exists(enrolled)))
    )
    found = {r["school_id"]: (r["enrolled"], r["n"]) for r in rows}
    return {sid: found.get(sid, (0, 0)) for sid in school_ids}


def is_bureau(user) -> bool:
    return scope.has_role(user, *BUREAU_ROLES)


# --- The work waiting (home cards) and the lists behind them --------------------------------------------------------

ROLL_CALL_DAYS = 7  # a roll call not taken is looked for over the last week, today included
ABSENCE_DAYS = 30  # a parent's card counts absences of the last 30 days (as the children's page shows them)


def sessions_delivered_by(user) -> QuerySet[Session]:
    """Sessions the user delivers: as a school's teacher (their own staff row at a school they work for) or as an
    admitted outside person."""
    if not getattr(user, "pk", None):
        return Session.objects.none()
    return Session.objects.filter(
        Q(staff__user=user, school_id__in=scope.school_ids(user)) | Q(staff__outside_person__user=user)
    )


def sessions_of_admin(user) -> QuerySet[Session]:
    """Every session of the schools the user administers."""
    return Session.objects.filter(school_id__in=scope.school_ids(user, Role.SCHOOL_ADMIN))


def sessions_of_children(user, day: date) -> QuerySet[Session]:
    """Sessions of the programmes the user's children are on the roster of on `day`."""
    enrolled = Application.objects.filter(enrolled_on(day), student__guardians=user, student__is_active=True)
    return Session.objects.filter(programme_id__in=enrolled.values("programme_id"))


def roster_spans(*, programme_ids=None, term_ids=None) -> dict[int, tuple[date, date]]:
    """{programme id: (first day a child was on its roster, last day one was)} for these programmes or the
    programmes of these terms, in one GROUP BY: before the first child and after the last one left there is no roll
    to call (the attendance gaps of a home, the missing attendance that blocks a fee allocation)."""
    far = date(9999, 12, 31)
    which = {"programme_id__in": programme_ids} if programme_ids is not None else {"programme__term_id__in": term_ids}
    rows = (
        Application.objects.filter(
            **which,
            status__in=[Application.Status.APPROVED, Application.Status.WITHDRAWN],
            active_from__isnull=False,
        )
        .values("programme_id")
        .annotate(
            start=Min("active_from"),
            end=Max("active_until_excl"),
            open=Min("id", filter=Q(active_until_excl__isnull=True)),
        )
    )
    return {
        r["programme_id"]: (r["start"], far if r["open"] is not None else r["end"] - timedelta(days=1)) for r in rows
    }


def session_work(
    sessions: QuerySet[Session], today: date, now: time, *, roll_calls: bool = True
) -> dict[str, list[tuple[Session, date]]]:
    """What a set of sessions asks of the people who run them, as (session, date) pairs:

    - `today`: the sessions that meet today (the term's school days: official calendar and the school's own days);
    - `roll_calls`: lessons of the last week (today's once started) with children on the roster, no attendance taken
      and not recorded as not held.

    A fixed number of queries whatever the number of sessions: the sessions, the schools' term days, the calendar
    (one per year touched), the roster spans, the marks taken and the lessons not held.
    """
    first = today - timedelta(days=ROLL_CALL_DAYS - 1 if roll_calls else 0)
    days = {first + timedelta(days=i) for i in range(ROLL_CALL_DAYS)}
    candidates = list(
        sessions.filter(first_date__lte=today, last_date__gte=first)
        .select_related("programme__term", "school", "room", "staff")
        .order_by("starts_at", "id")
        .distinct()
    )
    terms = {s.programme.term_id: s.programme.term for s in candidates}
    school_days = school_days_on(list(terms.values()), days, process_calendar())
    meetings = [
        (s, d)
        for d in sorted(days, reverse=True)
        for s in candidates
        if s.first_date <= d <= s.last_date and school_days.get(s.programme.term_id, {}).get(d) == s.weekday
    ]
    out: dict[str, list[tuple[Session, date]]] = {"today": [(s, d) for s, d in meetings if d == today]}
    due = [(s, d) for s, d in meetings if d < today or s.starts_at <= now] if roll_calls else []
    if not due:
        out["roll_calls"] = []
        return out
    ids = {s.pk for s, _d in due}
    spans = roster_spans(programme_ids={s.programme_id for s, _d in due})
    taken = set(
        Attendance.objects.filter(session_id__in=ids, date__in=days).values_list("session_id", "date").distinct()
    )
    taken |= set(Session.objects.filter(pk__in=ids, not_held__date__in=days).values_list("pk", "not_held__date"))
    out["roll_calls"] = [
        (s, d)
        for s, d in due
        if (s.pk, d) not in taken and spans.get(s.programme_id, (date.max, date.min))[0] <= d
        and d <= spans.get(s.programme_id, (date.max, date.min))[1]
    ]
    return out


def application_filters(user) -> dict[str, Q]:
    """Named slices of `applications_visible_to(user)`: `to_decide` (waiting for the class teacher or the school's
    admin: pending applications of the teacher's classes or of the admin's schools) and a parent's `children_live`
    (their children's applications not yet placed: pending, choices, waiting list)."""
    if not getattr(user, "pk", None):
        return {}
    pending = Q(status=Application.Status.PENDING)
    decide = Q(programme__school_id__in=scope.school_ids(user, Role.SCHOOL_ADMIN)) | Q(
        student__school_class__class_teacher=user, student__school_id__in=scope.school_ids(user, Role.TEACHER)
    )
    return {
        "to_decide": pending & decide,
        "children_live": Q(
            student__guardians=user,
            status__in=[Application.Status.PENDING, Application.Status.CHOICE, Application.Status.WAITLISTED],
        ),
    }


def application_slices(user) -> tuple[QuerySet[Application], dict[str, Q]]:
    """What a home counts of applications: those the user may see (each once) and the named slices."""
    return Application.objects.filter(pk__in=applications_visible_to(user).values("pk")), application_filters(user)


def children_slices(user) -> tuple[QuerySet[Student], dict[str, Q]]:
    return children_of(user), {"children": Q()}


def absence_slices(user, today: date) -> tuple[QuerySet[Attendance], dict[str, Q]]:
    """A parent's children's absences without leave of the last 30 days (as their page shows them)."""
    since = today - timedelta(days=ABSENCE_DAYS)
    return Attendance.objects.filter(student__in=children_of(user)), {
        "absences": Q(mark=Attendance.Mark.ABSENT, date__gte=since, date__lte=today)
    }


def application_counts(user) -> dict[str, int]:
    """{slice: how many} of `application_filters`: one query."""
    filters = application_filters(user)
    if not filters:
        return {}
    visible = applications_visible_to(user).values("pk")
    return Application.objects.filter(pk__in=visible).aggregate(
        **{n: Count("pk", filter=q, distinct=True) for n, q in filters.items()}
    )


def applications_to_decide(user) -> QuerySet[Application]:
    q = application_filters(user).get("to_decide")
    visible = applications_visible_to(user).values("pk")
    return (
        Application.objects.filter(pk__in=visible)
        .filter(q)
        .distinct()
        .select_related("student__school_class", "programme", "programme__school")
        .order_by("created_at", "id")
    )


def children_counts(user, today: date) -> dict[str, int]:
    """A parent's children at a glance: how many, and absences without leave of the last 30 days (one query)."""
    since = today - timedelta(days=ABSENCE_DAYS)
    return children_of(user).aggregate(
        children=Count("pk", distinct=True),
        absences=Count("attendance", filter=Q(attendance__mark=Attendance.Mark.ABSENT,
                                              attendance__date__gte=since, attendance__date__lte=today),
                       distinct=True),  # fmt: skip
    )


def terms_overlapping(school: School, starts_on: date, ends_on: date, exclude_id: int | None = None) -> list[Term]:
    """The school's terms sharing at least one day with [starts_on, ends_on] (a new term is warned about them)."""
    qs = Term.objects.filter(school=school, starts_on__lte=ends_on, ends_on__gte=starts_on)
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return list(qs.order_by("starts_on", "id"))


def applications_filtered(
    qs: QuerySet[Application],
    *,
    status: str | None = None,
    programme_id: int | None = None,
    window_id: int | None = None,
    term_id: int | None = None,
) -> QuerySet[Application]:
    """The applications list's filters, shared by the API and the school's page: status, programme, choice window
    (`window_id=0`: applied outside any window) and term."""
    if status:
        qs = qs.filter(status=status)
    if programme_id:
        qs = qs.filter(programme_id=programme_id)
    if window_id is not None:
        qs = qs.filter(window__isnull=True) if window_id == 0 else qs.filter(window_id=window_id)
    if term_id:
        qs = qs.filter(programme__term_id=term_id)
    return qs


def applications_of_school(school: School) -> QuerySet[Application]:
    """Every application to the school's programmes (its admins' list: one school, no join through guardians)."""
    return Application.objects.filter(programme__school=school)
