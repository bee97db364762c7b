"""Writes that build a school's after-school schedule: classes, rooms, students, terms, programmes and sessions.

The schedule is checked as it is built: a session whose staff or room is busy at the time, whose enrolled students
already have a session then, that falls outside its term or on no school day, is refused with the clash named.
Schedule writes of one school are serialized by a lock on the school row, so two admins cannot both take a room.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts import scope
from accounts.models import Role, User
from afterschool.schedule.staffing import outside_staff_for
from core.audit import audit_log
from core.errors import DomainError
from core.money import MoneyError, quantize

from . import calendar
from .models import (
    FORBIDDEN_KINDS,
    WEEKDAY_LABELS,
    Application,
    Kind,
    Programme,
    Room,
    School,
    SchoolClass,
    Session,
    Staff,
    Student,
    Term,
    TermDay,
)

EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


def _invalid(code: str, field: str, message, status: int = 422) -> DomainError:
    return DomainError(code, message, status=status, fields={field: message})


def _lock_school(school: School) -> School:
    return School.objects.select_for_update().get(pk=school.pk)


# --- Classes, rooms, students ---------------------------------------------------------------------------------------


def _teacher_of(school: School, user_id: int | None, field: str) -> User | None:
    if user_id is None:
        return None
    if user_id not in scope.users_of_school(school.pk, Role.TEACHER, Role.SCHOOL_ADMIN):
        raise _invalid("school.not_a_teacher", field, _("该用户不是本校教师"))
    return User.objects.get(pk=user_id)


@transaction.atomic
def school_class_create(*, actor, school: School, grade: int, number: int, class_teacher_id: int | None = None):
    if grade not in school.grades:
        raise _invalid("class.grade_not_in_school", "grade", _("该年级不在本校学段内"))
    teacher = _teacher_of(school, class_teacher_id, "class_teacher_id")
    if SchoolClass.objects.filter(school=school, grade=grade, number=number).exists():
        raise _invalid("class.duplicate", "number", _("该班级已存在"), status=409)
    klass = SchoolClass.objects.create(school=school, grade=grade, number=number, class_teacher=teacher)
    audit_log(actor=actor, verb="afterschool.class_created", obj=klass, to_state="active", data={"school": school.pk})
    return klass


ROOM_NAME_MAX = 50
ROOM_SEATS = (1, 5000)


@transaction.atomic
def room_create(*, actor, school: School, name: str, seats: int | None = None) -> Room:
    name = name.strip()
    if not name or len(name) > ROOM_NAME_MAX:
        raise _invalid("room.name_required", "name", _("请填写场地名称（不超过 50 字）"))
    if seats is not None and not ROOM_SEATS[0] <= seats <= ROOM_SEATS[1]:
        raise _invalid("room.seats", "seats", _("座位数应为 1–5000 的整数"))
    if Room.objects.filter(school=school, name=name).exists():
        raise _invalid("room.duplicate", "name", _("已有同名场地"), status=409)
    room = Room.objects.create(school=school, name=name, seats=seats)
    audit_log(actor=actor, verb="afterschool.room_created", obj=room, to_state="active", data={"school": school.pk})
    return room


@transaction.atomic
def student_create(
    *,
    actor,
    school: School,
    class_id: int,
    name: str,
    guardian_phones: list[str],
    left_behind: bool = False,
    migrant: bool = False,
) -> Student:
    klass = SchoolClass.objects.filter(school=school, pk=class_id).first()
    if klass is None:
        raise _invalid("student.class_unknown", "class_id", _("本校没有该班级"))
    name = name.strip()
    if not name:
        raise _invalid("student.name_required", "name", _("请填写学生姓名"))
    guardians = list(
        User.objects.filter(phone__in=guardian_phones, memberships__role=Role.PARENT, memberships__is_active=True)
    )
    missing = set(guardian_phones) - {g.phone for g in guardians}
    if missing:
        raise _invalid(
            "student.guardian_unknown",
            "guardian_phones",
            _("监护人须先以家长身份注册"),
        )
    student = Student.objects.create(
        school=school, school_class=klass, name=name, left_behind=left_behind, migrant=migrant
    )
    student.guardians.set(guardians)
    audit_log(
        actor=actor,
        verb="afterschool.student_created",
        obj=student,
        to_state="active",
        data={"school": school.pk, "class": klass.pk, "guardians": [g.pk for g in guardians]},
    )
    return student


# --- Terms ------------------------------------------------------------------------------------------------------------


@transaction.atomic
def term_create(
    *,
    actor,
    school: School,
    name: str,
    starts_on: date,
    ends_on: date,
    closures: list[date] = (),
    extra_days: list[tuple[date, int]] = (),
) -> Term:
    """A term; `closures` are the school's own days without school (vacations), `extra_days` school days it adds
    with the weekday whose timetable they follow."""
    if not (EARLIEST <= starts_on <= LATEST and EARLIEST <= ends_on <= LATEST):
        raise _invalid(
            "term.dates_out_of_range",
            "starts_on",
            _("学期日期须在 2000 至 2099 年之间"),
        )
    if ends_on < starts_on:
        raise _invalid("term.ends_before_start", "ends_on", _("结束日期早于开始日期"))
    if (ends_on - starts_on).days > 200:
        raise _invalid("term.too_long", "ends_on", _("学期不能超过 200 天"))
    if Term.objects.filter(school=school, name=name).exists():
        raise _invalid("term.duplicate", "name", _("已有同名学期"), status=409)
    for day in [*closures, *(d for d, _weekday in extra_days)]:
        if not starts_on <= day <= ends_on:
            raise _invalid("term.day_outside", "closures", _("日期不在学期内"))
    term = Term.objects.create(school=school, name=name, starts_on=starts_on, ends_on=ends_on)
    rows = {d: TermDay(term=term, date=d, note="停课") for d in closures}
    rows.update({d: TermDay(term=term, date=d, follows_weekday=w, note="补课") for d, w in extra_days})
    TermDay.objects.bulk_create(rows.values())
    audit_log(
        actor=actor,
        verb="afterschool.term_created",
        obj=term,
        to_state="active",
        data={"starts_on": str(starts_on), "ends_on": str(ends_on), "closures": len(closures)},
    )
    return term


# --- Programmes -------------------------------------------------------------------------------------------------------


@transaction.atomic
def programme_create(
    *,
    actor,
    school: School,
    term_id: int,
    name: str,
    kind: str,
    grade_min: int,
    grade_max: int,
    capacity: int,
    is_free: bool = True,
    fee_per_lesson: Decimal | str | None = None,
) -> Programme:
    term = Term.objects.filter(school=school, pk=term_id).first()
    if term is None:
        raise _invalid("programme.term_unknown", "term_id", _("本校没有该学期"))
    name = name.strip()
    if not name:
        raise _invalid("programme.name_required", "name", _("请填写项目名称"))
    if kind not in Kind.values:
        raise _invalid("programme.kind_unknown", "kind", _("项目类型无效"))
    if capacity < 1:
        raise _invalid("programme.capacity_not_positive", "capacity", _("名额至少为 1"))
    if not (grade_min in school.grades and grade_max in school.grades and grade_min <= grade_max):
        raise _invalid(
            "programme.grades_invalid",
            "grade_min",
            _("年级范围无效或不在本校学段"),
        )
    fee = None
    if not is_free:
        try:
            fee = quantize(fee_per_lesson)
        except (MoneyError, TypeError):
            fee = None
        if fee is None or fee <= 0 or fee >= Decimal("1000000"):
            raise _invalid(
                "programme.fee_required",
                "fee_per_lesson",
                _("收费项目须填写每次课收费（元，大于 0）"),
            )
    if Programme.objects.filter(term=term, name=name).exists():
        raise _invalid(
            "programme.duplicate", "name", _("本学期已有同名项目"), status=409
        )
    programme = Programme.objects.create(
        school=school,
        term=term,
        name=name,
        kind=kind,
        grade_min=grade_min,
        grade_max=grade_max,
        capacity=capacity,
        is_free=is_free,
        fee_per_lesson=fee,
    )
    audit_log(
        actor=actor,
        verb="afterschool.programme_created",
        obj=programme,
        to_state="active",
        data={"kind": kind, "capacity": capacity, "forbidden_kind": kind in FORBIDDEN_KINDS},
    )
    return programme


# --- Sessions and their clash checks ----------------------------------------------------------------------------------


def _hm(t: time) -> str:
    return t.strftime("%H:%M")


def overlapping(qs, *, weekday: int, starts_at: time, ends_at: time, first_date: date, last_date: date):
    """Sessions of `qs` that meet at the same time as the given slot on at least one common date."""
    return qs.filter(
        weekday=weekday,
        starts_at__lt=ends_at,
        ends_at__gt=starts_at,
        first_date__lte=last_date,
        last_date__gte=first_date,
    )


def _clash(code: str, what, other: Session, field: str) -> DomainError:
    when = format_lazy("{} {}-{}", WEEKDAY_LABELS[other.weekday], _hm(other.starts_at), _hm(other.ends_at))
    message = format_lazy(
        _("时间冲突：{what}在{when}已有“{programme}”"), what=what, when=when, programme=other.programme.name
    )
    return DomainError(code, message, status=409, fields={field: message})


def staff_for_teacher(school: School, user: User) -> Staff:
    staff, _unused = Staff.objects.get_or_create(
        school=school, user=user, defaults={"kind": Staff.StaffKind.TEACHER, "name": user.name}
    )
    return staff


def students_of_programme_from(programme: Programme, day: date):
    """Ids of students on the programme's roster on `day` or later (enrolled now or starting later)."""
    return Application.objects.filter(
        Q(status=Application.Status.APPROVED) | Q(status=Application.Status.WITHDRAWN, active_until_excl__gt=day),
        programme=programme,
        active_from__isnull=False,
    ).values_list("student_id", flat=True)


def session_plan(
    *,
    programme: Programme,
    weekdays: list[int],
    starts_at: time,
    ends_at: time,
    teacher_id: int | None = None,
    outside_person_id: int | None = None,
    room_id: int | None = None,
    first_date: date | None = None,
    last_date: date | None = None,
    school: School | None = None,
    exclude_ids: tuple[int, ...] = (),
    dry_run: bool = False,
):
    """Every check `session_create` makes (term, school days, room, staff and their admission, clashes of staff, room
    and enrolled students), without writing: (school, staff, room, first date, last date), or the DomainError naming
    the first problem. The page's inline check asks it before saving, as the save does (`dry_run`: nothing written,
    not even the teacher's staff row; the staff returned may then be None for a teacher who never taught here)."""
    school = school or programme.school
    term = programme.term
    if ends_at <= starts_at:
        raise _invalid(
            "session.ends_before_start", "ends_at", _("结束时间须晚于开始时间")
        )
    if not weekdays or len(set(weekdays)) != len(weekdays):
        raise _invalid("session.weekdays_invalid", "weekdays", _("请选择不重复的上课日"))
    first_date = first_date or term.starts_on
    last_date = last_date or term.ends_on
    if first_date < term.starts_on or last_date > term.ends_on or last_date < first_date:
        raise _invalid(
            "session.outside_term",
            "first_date",
            format_lazy(
                _("上课日期须在学期内（{starts_on}至{ends_on}）"), starts_on=term.starts_on, ends_on=term.ends_on
            ),
        )
    followed = set(calendar.school_days(term, first_date, last_date).values())
    for w in weekdays:
        if w not in followed:
            label = WEEKDAY_LABELS[w] if 0 <= w <= 6 else str(w)
            raise _invalid(
                "session.not_a_school_day",
                "weekdays",
                format_lazy(_("{label}在该时段内没有上学日"), label=label),
            )
    room = None
    if room_id is not None:
        room = Room.objects.filter(school=school, pk=room_id).first()
        if room is None:
            raise _invalid("session.room_unknown", "room_id", _("本校没有该场地"))
    if (teacher_id is None) == (outside_person_id is None):
        raise _invalid(
            "session.staff_required",
            "teacher_id",
            _("请选择一位本校教师或一位校外人员"),
        )
    if teacher_id is not None:
        teacher = _teacher_of(school, teacher_id, "teacher_id")
        staff = (
            Staff.objects.filter(school=school, user=teacher).first() if dry_run else staff_for_teacher(school, teacher)
        )
    else:
        staff = outside_staff_for(school, outside_person_id, first_date, last_date)
        teacher = staff

    school_sessions = Session.objects.filter(school=school).exclude(pk__in=exclude_ids).select_related("programme")
    enrolled_ids = list(students_of_programme_from(programme, first_date))
    for w in weekdays:
        slot = {
            "weekday": w,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "first_date": first_date,
            "last_date": last_date,
        }
        other = overlapping(school_sessions.filter(staff=staff), **slot).first() if staff is not None else None
        if other:
            field = "teacher_id" if teacher_id is not None else "outside_person_id"
            raise _clash("session.staff_clash", format_lazy(_("{name}老师"), name=teacher.name), other, field)
        if room:
            other = overlapping(school_sessions.filter(room=room), **slot).first()
            if other:
                raise _clash("session.room_clash", format_lazy(_("场地“{name}”"), name=room.name), other, "room_id")
        if enrolled_ids:
            # A student of this programme who already has another programme's session at that time.
            others = overlapping(
                Session.objects.exclude(programme=programme).filter(
                    programme__applications__student_id__in=enrolled_ids,
                    programme__applications__status=Application.Status.APPROVED,
                ),
                **slot,
            ).select_related("programme")
            other = others.first()
            if other:
                student = (
                    Student.objects.filter(
                        pk__in=enrolled_ids,
                        applications__programme=other.programme,
                        applications__status=Application.Status.APPROVED,
                    )
                    .only("name")
                    .first()
                )
                name = student.name if student else ""
                raise _clash("session.student_clash", format_lazy(_("学生{name}"), name=name), other, "weekdays")
    return school, staff, room, first_date, last_date


@transaction.atomic
def session_create(
    *,
    actor,
    programme: Programme,
    weekdays: list[int],
    starts_at: time,
    ends_at: time,
    teacher_id: int | None = None,
    outside_person_id: int | None = None,
    room_id: int | None = None,
    first_date: date | None = None,
    last_date: date | None = None,
) -> list[Session]:
    """One session per weekday, all or none; delivered by a teacher of the school or an admitted outside person."""
    school, staff, room, first_date, last_date = session_plan(
        programme=programme,
        weekdays=weekdays,
        starts_at=starts_at,
        ends_at=ends_at,
        teacher_id=teacher_id,
        outside_person_id=outside_person_id,
        room_id=room_id,
        first_date=first_date,
        last_date=last_date,
        school=_lock_school(programme.school),
    )
    created = Session.objects.bulk_create(
        [
            Session(
                programme=programme,
                school=school,
                weekday=w,
                starts_at=starts_at,
                ends_at=ends_at,
                room=room,
                staff=staff,
                first_date=first_date,
                last_date=last_date,
            )
            for w in weekdays
        ]
    )
    for s in created:
        audit_log(
            actor=actor,
            verb="afterschool.session_created",
            obj=s,
            to_state="scheduled",
            data={"programme": programme.pk, "weekday": s.weekday, "from": _hm(starts_at), "to": _hm(ends_at)},
        )
    return created


@transaction.atomic
def session_delete(*, actor, session: Session) -> None:
    _lock_school(session.school)
    if session.attendance.exists():
        raise DomainError(
            "session.has_attendance",
            _("已有考勤记录的课时不能删除"),
            status=409,
        )
    audit_log(actor=actor, verb="afterschool.session_deleted", obj=session, from_state="scheduled", to_state="deleted")
    session.delete()


def sessions_overlap(a: Session, b: Session) -> bool:
    return (
        a.weekday == b.weekday
        and a.starts_at < b.ends_at
        and b.starts_at < a.ends_at
        and a.first_date <= b.last_date
        and b.first_date <= a.last_date
    )


def today() -> date:
    return timezone.localdate()


# --- Editing what was built (the school admin's pages) ----------------------------------------------------------------


@transaction.atomic
def programme_update(*, actor, programme: Programme, capacity: int, name: str | None = None) -> Programme:
    """A programme's places (and name): never fewer places than children already enrolled."""
    programme = Programme.objects.select_for_update().select_related("term", "school").get(pk=programme.pk)
    if capacity < 1:
        raise _invalid("programme.capacity_not_positive", "capacity", _("名额至少为 1"))
    enrolled = Application.objects.filter(programme=programme, status=Application.Status.APPROVED).count()
    if capacity < enrolled:
        raise _invalid(
            "programme.capacity_below_enrolled",
            "capacity",
            format_lazy(_("名额不能少于已录取的 {n} 人"), n=enrolled),
            status=409,
        )
    before = {"capacity": programme.capacity, "name": programme.name}
    fields = ["capacity"]
    programme.capacity = capacity
    if name is not None and name.strip() and name.strip() != programme.name:
        name = name.strip()
        if Programme.objects.filter(term=programme.term, name=name).exclude(pk=programme.pk).exists():
            raise _invalid("programme.duplicate", "name", _("本学期已有同名项目"), status=409)
        programme.name = name
        fields.append("name")
    programme.save(update_fields=fields)
    audit_log(
        actor=actor,
        verb="afterschool.programme_updated",
        obj=programme,
        data={"before": before, "capacity": capacity, "name": programme.name, "enrolled": enrolled},
    )
    return programme


@transaction.atomic
def session_staff_assign(
    *, actor, session: Session, teacher_id: int | None = None, outside_person_id: int | None = None
) -> Session:
    """Put a teacher of the school or an admitted outside person on a session (one taken off when an admission
    lapsed, or a change of teacher), with the checks scheduling makes: admission valid, no clash."""
    _lock_school(session.school)
    session = Session.objects.select_related("programme__term", "school").get(pk=session.pk)
    _school, staff, _room, _first, _last = session_plan(
        programme=session.programme,
        weekdays=[session.weekday],
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        teacher_id=teacher_id,
        outside_person_id=outside_person_id,
        room_id=None,
        first_date=session.first_date,
        last_date=session.last_date,
        school=session.school,
        exclude_ids=(session.pk,),
    )
    before = session.staff_id
    session.staff, session.needs_staff = staff, False
    session.save(update_fields=["staff", "needs_staff"])
    audit_log(
        actor=actor,
        verb="afterschool.session_staff_assigned",
        obj=session,
        from_state=str(before or ""),
        to_state=str(staff.pk),
        data={"staff": staff.pk, "name": staff.name},
    )
    return session
