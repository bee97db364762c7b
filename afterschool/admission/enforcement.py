"""What admission does to the schedule (R-ASS-2): only a person admitted to the school on the days taught may be put
on a session, and a suspension or revocation takes the person off the school's sessions from today."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import connection
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from afterschool.schedule.models import School, Session, Staff
from core.errors import DomainError

from .models import Admission

S = Admission.Status


def _invalid(code: str, field: str, message, status: int = 422) -> DomainError:
    return DomainError(code, message, status=status, fields={field: message})


def today() -> date:
    return timezone.localdate()


def release_sessions(admission: Admission) -> list[int]:
    """Take the person off every session of the school from today: a session that already ran keeps its past
    (and its attendance) up to yesterday and continues from today as a copy that needs staff."""
    cut = today()
    rows = list(
        Session.objects.select_for_update(of=("self",)).filter(
            school=admission.school, staff__outside_person=admission.person, last_date__gte=cut
        )
    )
    touched = []
    for s in rows:
        if s.first_date >= cut:
            Session.objects.filter(pk=s.pk).update(staff=None, needs_staff=True)
            touched.append(s.pk)
        else:
            Session.objects.filter(pk=s.pk).update(last_date=cut - timedelta(days=1))
            copy = Session.objects.bulk_create(
                [
                    Session(
                        programme_id=s.programme_id,
                        school_id=s.school_id,
                        weekday=s.weekday,
                        starts_at=s.starts_at,
                        ends_at=s.ends_at,
                        room_id=s.room_id,
                        staff=None,
                        needs_staff=True,
                        first_date=cut,
                        last_date=s.last_date,
                    )
                ]
            )[0]
            touched.append(copy.pk)
    return touched


def day_to_check(first_date: date, last_date: date) -> date:
    """The first day a person would actually teach: from today on (the term's past is not rewritten)."""
    now = today()
    return first_date if last_date < now else max(first_date, now)


def check_outside_staff(staff: Staff, first_date: date, last_date: date, field: str = "outside_person_id") -> None:
    """Only a person admitted to this school on the session's first day taught can be put on it (R-ASS-2)."""
    if staff.kind != Staff.StaffKind.OUTSIDE:
        return
    day = day_to_check(first_date, last_date)
    rows = Admission.objects.filter(
        person_id=staff.outside_person_id,
        school_id=staff.school_id,
        status=S.ADMITTED,
        valid_from__lte=day,
        valid_until__gte=day,
    )
    if connection.in_atomic_block:
        # A revocation holds this row while it frees the sessions: scheduling waits for it, then sees "revoked".
        rows = rows.select_for_update()
    ok = rows.exists()
    if not ok:
        raise _invalid(
            "session.outside_not_admitted",
            field,
            format_lazy(_("{name}在 {day} 没有有效的准入，不能排课"), name=staff.name, day=day),
            status=409,
        )


def staff_recheck(staff: Staff, field: str = "outside_person") -> None:
    """Before a staff row is saved, by whatever route (the admin's change form, a fixture, a shell): when the row is
    new or now names another person, school or kind, its outside person must pass the check scheduling makes
    (check_outside_staff) on every future session of the row, and without any future session hold an admission
    valid today. So nobody can swap a suspended or revoked person into a staffed row. An unchanged row is left
    alone (editing the name of a person whose admission lapsed stays possible)."""
    if staff.kind != Staff.StaffKind.OUTSIDE or staff.outside_person_id is None:
        return
    if staff.pk is not None:
        before = Staff.objects.filter(pk=staff.pk).values("kind", "outside_person_id", "school_id").first()
        if before == {"kind": staff.kind, "outside_person_id": staff.outside_person_id, "school_id": staff.school_id}:
            return
    on = today()
    spans = set()
    if staff.pk is not None:
        spans = set(Session.objects.filter(staff_id=staff.pk, last_date__gte=on).values_list("first_date", "last_date"))
    for first, last in sorted(spans or {(on, on)}):
        check_outside_staff(staff, first, last, field=field)


def outside_staff_for(school: School, person_id: int, first_date: date, last_date: date) -> Staff:
    staff = Staff.objects.filter(school=school, outside_person_id=person_id).first()
    if staff is None:
        raise _invalid(
            "session.outside_not_admitted",
            "outside_person_id",
            _("此人未获准入本校"),
            status=409,
        )
    check_outside_staff(staff, first_date, last_date)
    return staff


def lapsing_sessions(sessions) -> list[dict]:
    """Sessions (of any number of schools) whose outside person is not admitted to the session's school, or whose
    admission ends before the session's last date: one query whatever their number."""
    outside = [s for s in sessions if s.staff_id and s.staff.kind == Staff.StaffKind.OUTSIDE]
    if not outside:
        return []
    until: dict[tuple[int, int], date] = {}
    for a in Admission.objects.filter(
        school_id__in={s.school_id for s in outside},
        person_id__in={s.staff.outside_person_id for s in outside},
        status=S.ADMITTED,
    ).only("school_id", "person_id", "valid_until"):
        key = (a.school_id, a.person_id)
        until[key] = max(until.get(key, a.valid_until), a.valid_until)
    out = []
    for s in outside:
        end = until.get((s.school_id, s.staff.outside_person_id))
        if end is None or end < s.last_date:
            out.append({"session": s, "person": s.staff.name, "valid_until": end})
    return out

