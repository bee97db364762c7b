"""Attendance from the teacher's phone: the day's sessions with their rosters, and batches of marks that carry
client UUIDs, so a batch sent twice (or sent later, after a day offline) is stored once. Corrections after the
day need a reason and are audited. Parents of a child marked absent without leave are notified (after commit).

A batch costs a fixed number of queries whatever its size: sessions, rosters and existing marks are loaded with
one query each and written with bulk operations.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from datetime import date, time

from django.db import IntegrityError, transaction
from django.db.models import Q
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

from .calendar import school_days_on as _school_days_by_term
from .models import Application, Attendance, Session
from .selectors import enrolled_on

Mark = Attendance.Mark
MAX_BATCH = 500
CORRECTION_REASON_MIN, CORRECTION_REASON_MAX = 2, 200  # after trimming; the API schema states the same


@dataclass
class MarkIn:
    client_uuid: uuidlib.UUID
    session_id: int
    student_id: int
    date: date
    mark: str
    left_at: time | None = None


def _sessions_of(actor):
    """Sessions the actor may take attendance for: their own, or any of a school they administer."""
    return Session.objects.filter(
        Q(staff__user=actor, school_id__in=scope.school_ids(actor))
        | Q(school_id__in=scope.school_ids(actor, Role.SCHOOL_ADMIN))
    )


def sessions_on(actor, day: date) -> list[Session]:
    """The actor's sessions that meet on `day` (as a teacher: those they deliver)."""
    candidates = list(
        Session.objects.filter(
            staff__user=actor, school_id__in=scope.school_ids(actor), first_date__lte=day, last_date__gte=day
        )
        .select_related("programme__term", "room", "staff")
        .order_by("starts_at", "id")
    )
    terms = {s.programme.term_id: s.programme.term for s in candidates}
    days = _school_days_by_term(list(terms.values()), {day})
    return [s for s in candidates if days.get(s.programme.term_id, {}).get(day) == s.weekday]


def rosters(sessions: list[Session], day: date) -> dict[int, list]:
    """{programme id: [students on its roster on `day`]} in one query."""
    programme_ids = {s.programme_id for s in sessions}
    out: dict[int, list] = {pid: [] for pid in programme_ids}
    apps = (
        Application.objects.filter(enrolled_on(day), programme_id__in=programme_ids)
        .select_related("student__school_class")
        .order_by("student__school_class__grade", "student__school_class__number", "student__name", "student_id")
    )
    for a in apps:
        out[a.programme_id].append(a.student)
    return out


def my_sessions(*, actor, day: date) -> list[dict]:
    sessions = sessions_on(actor, day)
    by_programme = rosters(sessions, day)
    marks = {(m.session_id, m.student_id): m for m in Attendance.objects.filter(session__in=sessions, date=day)}
    return [
        {
            "session": s,
            "roster": [
                {"student": st, "attendance": marks.get((s.pk, st.pk))} for st in by_programme.get(s.programme_id, [])
            ],
        }
        for s in sessions
    ]


def _item_error(index: int, field: str, code: str, message, status: int = 422) -> DomainError:
    return DomainError(code, message, status=status, fields={f"records.{index}.{field}": message})


def attendance_record_batch(*, actor, records: list[MarkIn]) -> list[dict]:
    """All or nothing. Returns one result per record: created, unchanged (same UUID seen before) or updated (a
    new mark for the same student, session and day, sent on that day)."""
    for attempt in range(2):
        try:
            return _record_batch(actor, records)
        except IntegrityError:
            # A copy of the same batch committed between our read and our write: the second pass sees it.
            if attempt:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def _record_batch(actor, records: list[MarkIn]) -> list[dict]:
    if not records:
        raise DomainError(
            "attendance.empty_batch",
            _("没有考勤记录"),
            status=422,
            fields={"records": _("必填")},
        )
    if len(records) > MAX_BATCH:
        raise DomainError(
            "attendance.batch_too_large",
            format_lazy(_("一次最多 {MAX_BATCH} 条"), MAX_BATCH=MAX_BATCH),
            status=422,
        )
    today = timezone.localdate()
    uuids = [r.client_uuid for r in records]
    if len(set(uuids)) != len(uuids):
        i = next(i for i, u in enumerate(uuids) if uuids.index(u) != i)
        raise _item_error(
            i,
            "client_uuid",
            "attendance.uuid_repeated",
            _("同一批次中编号重复"),
        )
    keys = [(r.session_id, r.student_id, r.date) for r in records]
    if len(set(keys)) != len(keys):
        i = next(i for i, k in enumerate(keys) if keys.index(k) != i)
        raise _item_error(
            i,
            "student_id",
            "attendance.student_repeated",
            _("同一批次中同一学生同一课时出现两次"),
        )

    sessions = {
        s.pk: s
        for s in _sessions_of(actor).filter(pk__in={r.session_id for r in records}).select_related("programme__term")
    }
    days = {r.date for r in records}
    terms = {s.programme.term_id: s.programme.term for s in sessions.values()}
    school_days = _school_days_by_term(list(terms.values()), days)
    enrolments = list(
        Application.objects.filter(
            status__in=[Application.Status.APPROVED, Application.Status.WITHDRAWN],
            active_from__isnull=False,
            programme_id__in={s.programme_id for s in sessions.values()},
            student_id__in={r.student_id for r in records},
        ).values_list("programme_id", "student_id", "active_from", "active_until_excl")
    )
    by_uuid = {a.client_uuid: a for a in Attendance.objects.filter(client_uuid__in=uuids)}
    existing = {
        (a.session_id, a.student_id, a.date): a
        for a in Attendance.objects.filter(
            session_id__in=sessions, student_id__in={r.student_id for r in records}, date__in=days
        )
    }
    # Each read sees what was committed when it ran: a copy of this batch committed between the two finds its rows
    # here by key, not above by UUID. They are the same rows.
    for a in existing.values():
        by_uuid.setdefault(a.client_uuid, a)

    def on_roster(programme_id, student_id, day) -> bool:
        return any(
            p == programme_id and s == student_id and start <= day and (until is None or day < until)
            for p, s, start, until in enrolments
        )

    results: list[dict] = []
    to_create: list[Attendance] = []
    to_update: list[Attendance] = []
    audits: list[AuditEvent] = []
    actor_label = str(actor)
    for i, r in enumerate(records):
        seen = by_uuid.get(r.client_uuid)
        if seen is not None:
            if (seen.session_id, seen.student_id, seen.date) != (r.session_id, r.student_id, r.date):
                raise _item_error(
                    i,
                    "client_uuid",
                    "attendance.uuid_reused",
                    _("该编号已用于另一条考勤"),
                    409,
                )
            results.append({"client_uuid": r.client_uuid, "id": seen.pk, "result": "unchanged", "record": seen})
            continue
        session = sessions.get(r.session_id)
        if session is None:
            raise _item_error(i, "session_id", "not_found", _("课时不存在"), 404)
        if r.date > today:
            raise _item_error(
                i,
                "date",
                "attendance.future_date",
                _("不能登记未来日期的考勤"),
            )
        if r.mark not in Mark.values:
            raise _item_error(i, "mark", "attendance.mark_invalid", _("考勤状态无效"))
        if (r.mark == Mark.LEFT_EARLY) != (r.left_at is not None):
            raise _item_error(
                i,
                "left_at",
                "attendance.left_at",
                _("早退须且仅须填写离开时间"),
            )
        if r.left_at is not None and not session.starts_at <= r.left_at <= session.ends_at:
            raise _item_error(
                i,
                "left_at",
                "attendance.left_at_outside",
                _("离开时间须在课时内"),
            )
        if (
            not (session.first_date <= r.date <= session.last_date)
            or school_days.get(session.programme.term_id, {}).get(r.date) != session.weekday
        ):
            raise _item_error(
                i, "date", "attendance.not_a_session_day", _("该课时当天不上课")
            )
        if not on_roster(session.programme_id, r.student_id, r.date):
            raise _item_error(
                i,
                "student_id",
                "attendance.not_on_roster",
                _("该学生不在此课时的名单中"),
            )
        current = existing.get((r.session_id, r.student_id, r.date))
        if current is not None and (current.mark, current.left_at) == (r.mark, r.left_at):
            # The same mark again (under another UUID): nothing to change, nothing to correct.
            results.append({"client_uuid": r.client_uuid, "id": current.pk, "result": "unchanged", "record": current})
            continue
        if current is not None:
            if r.date != today:
                raise _item_error(
                    i,
                    "client_uuid",
                    "attendance.needs_correction",
                    _("该考勤已登记；当天之后修改请提交更正并说明原因"),
                    409,
                )
            before = current.mark
            current.mark, current.left_at = r.mark, r.left_at
            to_update.append(current)
            audits.append(
                _audit(actor, actor_label, current, before, r.mark, {"via": "batch", "client_uuid": str(r.client_uuid)})
            )
            results.append({"client_uuid": r.client_uuid, "id": current.pk, "result": "updated", "record": current})
            continue
        row = Attendance(
            session_id=r.session_id,
            student_id=r.student_id,
            date=r.date,
            mark=r.mark,
            left_at=r.left_at,
            client_uuid=r.client_uuid,
            recorded_by=actor,
        )
        to_create.append(row)
        results.append({"client_uuid": r.client_uuid, "id": None, "result": "created", "record": row})
    if to_create:
        Attendance.objects.bulk_create(to_create)
        if any(row.pk is None for row in to_create):  # SQLite before 3.35 / no RETURNING: read the ids back
            ids = dict(
                Attendance.objects.filter(client_uuid__in=[r.client_uuid for r in to_create]).values_list(
                    "client_uuid", "id"
                )
            )
            for row in to_create:
                row.pk = row.id = ids[row.client_uuid]
        for row in to_create:
            audits.append(
                _audit(actor, actor_label, row, "", row.mark, {"via": "batch", "client_uuid": str(row.client_uuid)})
            )
    if to_update:
        Attendance.objects.bulk_update(to_update, ["mark", "left_at"])
    if audits:
        AuditEvent.objects.bulk_create(audits)
    for res in results:
        res["id"] = res["record"].pk
    absent_ids = [row.pk for row in [*to_create, *to_update] if row.mark == Mark.ABSENT]
    if absent_ids:
        enqueue_on_commit("afterschool.notify_absences", args=[absent_ids])
    return results


def _audit(actor, label, row: Attendance, before: str, after: str, data: dict) -> AuditEvent:
    return AuditEvent(
        actor=actor,
        actor_label=label,
        verb="afterschool.attendance_recorded" if not before else "afterschool.attendance_changed",
        object_type="afterschool.attendance",
        object_id=str(row.pk),
        from_state=before,
        to_state=after,
        data={**data, "session": row.session_id, "student": row.student_id, "date": str(row.date)},
    )


@transaction.atomic
def attendance_correct(*, actor, attendance_id: int, mark: str, left_at: time | None, reason: str) -> Attendance:
    row = (
        Attendance.objects.select_for_update(of=("self",))
        .select_related("session")
        .filter(pk=attendance_id, session__in=_sessions_of(actor))
        .first()
    )
    if row is None:
        raise NotFound(_("考勤记录不存在"))
    reason = (reason or "").strip()
    if not CORRECTION_REASON_MIN <= len(reason) <= CORRECTION_REASON_MAX:
        raise DomainError(
            "attendance.reason_required",
            _("更正须说明原因"),
            status=422,
            fields={"reason": _("必填")},
        )
    if mark not in Mark.values:
        raise DomainError(
            "attendance.mark_invalid",
            _("考勤状态无效"),
            status=422,
            fields={"mark": _("无效")},
        )
    if (mark == Mark.LEFT_EARLY) != (left_at is not None):
        raise DomainError(
            "attendance.left_at",
            _("早退须且仅须填写离开时间"),
            status=422,
            fields={"left_at": _("无效")},
        )
    before = row.mark
    row.mark, row.left_at = mark, left_at
    row.corrected_at = timezone.now()
    row.correction_reason = reason[:200]
    row.save(update_fields=["mark", "left_at", "corrected_at", "correction_reason"])
    audit_log(
        actor=actor,
        verb="afterschool.attendance_corrected",
        obj=row,
        from_state=before,
        to_state=mark,
        data={"reason": reason[:200], "date": str(row.date)},
    )
    if mark == Mark.ABSENT and before != Mark.ABSENT:
        enqueue_on_commit("afterschool.notify_absences", args=[[row.pk]])
    return row


def notify_absences(attendance_ids: list[int]) -> int:
    """Tell each guardian of a child marked absent without leave (once per record)."""
    sent = 0
    rows = (
        Attendance.objects.filter(pk__in=attendance_ids, mark=Mark.ABSENT)
        .select_related("student", "session__programme")
        .prefetch_related("student__guardians")
    )
    for row in rows:
        notify(
            recipients=row.student.guardians.all(),
            kind="afterschool.absent",
            title=_("课后服务缺勤提醒"),
            body=format_lazy(
                _("{student} {date}“{programme}”未到且未请假。"),
                student=row.student.name,
                date=row.date,
                programme=row.session.programme.name,
            ),
            obj=row,
            payload={"student_id": row.student_id, "date": str(row.date), "session_id": row.session_id},
            dedupe_key=f"afterschool.absent.{row.pk}",
        )
        sent += 1
    return sent
