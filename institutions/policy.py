"""The compliance rules of the registry (POLICY.md R-FEE-*, R-TIME-*, R-AGE-*, R-STAFF-*, R-SITE-*).

Two entry points, one set of checks:

- `evaluate(institution, on=None)`: every finding about an institution's records as they stand, judged by the policy
  values in force on `on` (default today). A stored record that breaks a rule made after it was entered is reported
  here, never rewritten.
- `findings_for_change(institution, kind, action, current, after)`: the findings a proposed course, package, slot or
  staff change would *introduce*; services refuse the change with them.

Every number comes from `core.policy` with the date (a new dated PolicyValue row changes the rule without a deploy).
A key with no value in force on that date means the rule did not exist yet: its checks are skipped, not guessed.
The two ages of R-AGE-1 (pre-school = under 6; subject training banned from 3) have no policy key yet and are the
constants below.

Severity: high for money (R-FEE-1/2/3), for people who must not teach (R-STAFF-2: in-service teachers, a failed
pre-employment check) and for the outright bans of 双减 (R-TIME-1 subject training at weekends, R-AGE-1); medium for
limits of degree (R-TIME-2 late ends and long online lessons, R-STAFF-1 missing certificates, R-SITE-1 floor area);
low for the staffing ratio (R-STAFF-3).

What cannot be judged from the registry and is left to inspections: training on public holidays and in school
vacations (R-TIME-1: the registry holds weekly slots, not dated lessons), breaks between online lessons (R-TIME-2:
no lesson plan), teachers per students per class (R-STAFF-3: no class sizes), the staff blacklist and criminal
records beyond the recorded pre-employment check (R-STAFF-2), fire checks and patrols (R-SITE-1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace

from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.errors import render
from core.money import fmt
from core.policy import MissingPolicyValue, policy_decimal, policy_int, policy_raw, policy_time

from .models import Category, ChangeProposal, Course, EscrowAccount, Institution, Mode, StaffMember

HIGH, MEDIUM, LOW = "high", "medium", "low"
SEVERITY_RANK = {HIGH: 0, MEDIUM: 1, LOW: 2}

# R-AGE-1: children under 6 are pre-school (primary school starts at 6); subject training is banned for ages 3-6.
PRESCHOOL_BELOW_AGE = 6
SUBJECT_BAN_FROM_AGE = 3
# A grade range naming one of these is for pre-school children whatever the ages say (幼小衔接 is the usual disguise).
PRESCHOOL_WORDS = ("学前", "幼儿", "幼小衔接", "preschool", "pre-school", "kindergarten")
WEEKEND = (5, 6)  # ScheduleSlot.weekday: 0 = Monday … 6 = Sunday

WEEKDAYS = (_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日"))

# object_type values are the change kinds, so a client can link a finding to the record it is about.
INSTITUTION, COURSE, PACKAGE, SLOT, STAFF = "institution", "course", "package", "slot", "staff"


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: str  # "high" | "medium" | "low"
    text: object  # one message (gettext_lazy, Chinese msgid), rendered in the reader's language
    field: str = ""
    object_type: str = ""
    object_id: int | None = None

    def message(self, lang: str | None = None) -> str:
        """The message in `lang` ('en' / 'zh'), or in the active language."""
        return render(self.text, lang)

    @property
    def key(self) -> tuple:
        """What makes two findings "the same" (the record before and after a change)."""
        return (self.rule_id, self.object_type, self.object_id, self.field)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(
        findings,
        key=lambda f: (SEVERITY_RANK.get(f.severity, 9), f.rule_id, f.object_type, f.object_id or 0, f.field),
    )


class Limits:
    """The policy values in force on one date, each read once through core.policy when a check first needs it.
    None: no value in force that day (the rule did not exist yet), and the check is skipped."""

    def __init__(self, on: date | None = None):
        self.on = on or timezone.localdate()
        self._values: dict[str, object] = {}
        self._raw: dict[str, str | None] = {}

    def preload(self, *keys: str) -> Limits:
        """Read several values at once (a page that judges many records: the public verification page). The table
        is kept in the process (core.policy), so this costs no query when it is warm."""
        for key in keys:
            if key not in self._raw and key not in self._values:
                try:
                    self._raw[key] = policy_raw(key, self.on)
                except MissingPolicyValue:
                    self._raw[key] = None
        return self

    def _read(self, key: str, reader):
        if key not in self._values:
            if key in self._raw:
                raw = self._raw[key]
                self._values[key] = None if raw is None else _CONVERT[reader](raw)
            else:
                try:
                    self._values[key] = reader(key, self.on)
                except MissingPolicyValue:
                    self._values[key] = None
        return self._values[key]

    def decimal(self, key: str) -> Decimal | None:
        return self._read(key, policy_decimal)

    def int(self, key: str) -> int | None:
        return self._read(key, policy_int)

    def time(self, key: str) -> time | None:
        return self._read(key, policy_time)


def _as_policy_time(raw: str) -> time:
    hours, minutes = raw.split(":")
    return time(int(hours), int(minutes))


_CONVERT = {
    policy_decimal: Decimal,
    policy_int: lambda raw: int(Decimal(raw)),
    policy_time: _as_policy_time,
}
PACKAGE_KEYS = ("prepaid_max_months", "prepaid_max_class_hours", "prepaid_max_amount")


# --- Formatting ------------------------------------------------------------------------------------------------------


def _hm(value: time) -> str:
    return value.strftime("%H:%M")


_money = fmt  # "120.00": core.money prints every amount


def _ages(min_age, max_age):
    if min_age is not None and max_age is not None:
        return format_lazy(_("{min}–{max} 岁"), min=min_age, max=max_age)
    if min_age is not None:
        return format_lazy(_("{min} 岁起"), min=min_age)
    if max_age is not None:
        return format_lazy(_("{max} 岁以下"), max=max_age)
    return _("年龄未填")


def _slot_text(slot):
    return format_lazy("{} {}–{}", WEEKDAYS[slot.weekday], _hm(slot.start_time), _hm(slot.end_time))


# --- Checks on one record ---------------------------------------------------------------------------------------------
# Each takes objects with the model's attribute names (a model instance, or a record rebuilt from a change's JSON).


def _is_subject(category) -> bool:
    return category == Category.SUBJECT


def _is_online(mode) -> bool:
    return mode == Mode.ONLINE


def _preschool(course) -> bool:
    """The course is (also) for pre-school children: a minimum age under 6, an age range wholly under 6, or a grade
    range that names pre-school."""
    if course.min_age is not None and course.min_age < PRESCHOOL_BELOW_AGE:
        return True
    if course.max_age is not None and course.max_age < PRESCHOOL_BELOW_AGE:
        return True
    grades = (course.grade_range or "").lower()
    return any(word in grades for word in PRESCHOOL_WORDS)


def _reaches_subject_ban_ages(course) -> bool:
    """Pre-school and not wholly under 3 (R-AGE-1 names ages 3-6 for subject training)."""
    return _preschool(course) and (course.max_age is None or course.max_age >= SUBJECT_BAN_FROM_AGE)


def course_findings(limits: Limits, course) -> list[Finding]:
    """R-AGE-1 (age of the children) and R-TIME-2 (length of an online lesson)."""
    out = []
    ages = _ages(course.min_age, course.max_age)
    age_field = (
        "min_age" if course.min_age is not None else ("max_age" if course.max_age is not None else "grade_range")
    )
    if _is_online(course.mode) and _preschool(course):
        out.append(
            Finding(
                "R-AGE-1",
                HIGH,
                format_lazy(
                    _("线上课程「{name}」面向学龄前儿童（{ages}），不得对学龄前儿童开展线上培训"),
                    name=course.name,
                    ages=ages,
                ),
                age_field,
                COURSE,
                course.pk,
            )
        )
    if _is_subject(course.category) and _reaches_subject_ban_ages(course):
        out.append(
            Finding(
                "R-AGE-1",
                HIGH,
                format_lazy(
                    _("学科类课程「{name}」面向 3–6 岁学龄前儿童（{ages}），不得开展学科类培训"),
                    name=course.name,
                    ages=ages,
                ),
                age_field,
                COURSE,
                course.pk,
            )
        )
    if _is_online(course.mode) and course.class_minutes is not None:
        limit = limits.int("online_lesson_max_minutes")
        if limit is not None and course.class_minutes > limit:
            out.append(
                Finding(
                    "R-TIME-2",
                    MEDIUM,
                    format_lazy(
                        _("线上课程「{name}」单次课 {minutes} 分钟，超过 {limit} 分钟"),
                        name=course.name,
                        minutes=course.class_minutes,
                        limit=limit,
                    ),
                    "class_minutes",
                    COURSE,
                    course.pk,
                )
            )
    return out


def package_findings(limits: Limits, package, course) -> list[Finding]:
    """R-FEE-1 (a charge covers at most 3 months and 60 class hours) and R-FEE-2 (at most 5,000 yuan for
    non-subject training; subject-type fees have no such cap in the data, only R-FEE-1)."""
    out = []
    names = {"package": package.name, "course": course.name}
    max_months = limits.int("prepaid_max_months")
    if package.months is not None and max_months is not None and package.months > max_months:
        out.append(
            Finding(
                "R-FEE-1",
                HIGH,
                format_lazy(
                    _("套餐「{package}」（{course}）一次收费 {months} 个月，超过 {limit} 个月"),
                    **names,
                    months=package.months,
                    limit=max_months,
                ),
                "months",
                PACKAGE,
                package.pk,
            )
        )
    max_hours = limits.int("prepaid_max_class_hours")
    if package.hours is not None and max_hours is not None and package.hours > max_hours:
        out.append(
            Finding(
                "R-FEE-1",
                HIGH,
                format_lazy(
                    _("套餐「{package}」（{course}）一次收费 {hours} 课时，超过 {limit} 课时"),
                    **names,
                    hours=package.hours,
                    limit=max_hours,
                ),
                "hours",
                PACKAGE,
                package.pk,
            )
        )
    if not _is_subject(course.category) and package.price is not None:
        max_amount = limits.decimal("prepaid_max_amount")
        if max_amount is not None and package.price > max_amount:
            out.append(
                Finding(
                    "R-FEE-2",
                    HIGH,
                    format_lazy(
                        _("非学科类套餐「{package}」（{course}）一次收费 {price} 元，超过 {limit} 元"),
                        **names,
                        price=_money(package.price),
                        limit=_money(max_amount),
                    ),
                    "price",
                    PACKAGE,
                    package.pk,
                )
            )
    return out


def slot_findings(limits: Limits, slot, course) -> list[Finding]:
    """R-TIME-1: subject-type training never on a weekend. Public holidays and school vacations cannot be judged here:
    a slot is a weekly pattern, not a dated lesson, so they are for inspections and lesson records to catch.
    R-TIME-2: offline training ends by 20:30, online by 21:00 (the course's mode decides which)."""
    out = []
    if slot.weekday is None or slot.start_time is None or slot.end_time is None:
        return out
    when = _slot_text(slot)
    if _is_subject(course.category) and slot.weekday in WEEKEND:
        out.append(
            Finding(
                "R-TIME-1",
                HIGH,
                format_lazy(
                    _("学科类课程「{name}」在周末排课（{when}），学科类培训不得占用周末"), name=course.name, when=when
                ),
                "weekday",
                SLOT,
                slot.pk,
            )
        )
    online = _is_online(course.mode)
    latest = limits.time("online_latest_end" if online else "offline_latest_end")
    if latest is not None and slot.end_time > latest:
        late = (
            _("线上课程「{name}」{when} 结束晚于 {latest}")
            if online
            else _("线下课程「{name}」{when} 结束晚于 {latest}")
        )
        out.append(
            Finding(
                "R-TIME-2",
                MEDIUM,
                format_lazy(late, name=course.name, when=when, latest=_hm(latest)),
                "end_time",
                SLOT,
                slot.pk,
            )
        )
    return out


def staff_findings(institution, member) -> list[Finding]:
    """R-STAFF-1: teachers of a subject-type institution hold a teacher certificate; other teachers a certificate or
    a proof of competence. R-STAFF-2: no in-service school teacher; nobody whose pre-employment check failed."""
    out = []
    if member.role == StaffMember.StaffRole.TEACHER:
        certificate = (member.teacher_certificate_no or "").strip()
        proof = (member.competence_proof or "").strip()
        if institution.category == Category.SUBJECT and not certificate:
            out.append(
                Finding(
                    "R-STAFF-1",
                    MEDIUM,
                    format_lazy(_("教师「{name}」未登记教师资格证（学科类培训须持证）"), name=member.name),
                    "teacher_certificate_no",
                    STAFF,
                    member.pk,
                )
            )
        elif institution.category != Category.SUBJECT and not certificate and not proof:
            out.append(
                Finding(
                    "R-STAFF-1",
                    MEDIUM,
                    format_lazy(_("教师「{name}」未登记教师资格证或专业能力证明"), name=member.name),
                    "competence_proof",
                    STAFF,
                    member.pk,
                )
            )
    if member.in_service_teacher:
        out.append(
            Finding(
                "R-STAFF-2",
                HIGH,
                format_lazy(_("「{name}」为在职中小学教师，不得在校外培训机构任职"), name=member.name),
                "in_service_teacher",
                STAFF,
                member.pk,
            )
        )
    if member.precheck_result == StaffMember.Precheck.FAILED:
        out.append(
            Finding(
                "R-STAFF-2",
                HIGH,
                format_lazy(_("「{name}」入职查询（性侵等违法犯罪信息）未通过"), name=member.name),
                "precheck_result",
                STAFF,
                member.pk,
            )
        )
    return out


def _institution_findings(limits: Limits, institution, courses, staff, has_escrow: bool) -> list[Finding]:
    """R-FEE-3 (escrow), R-STAFF-3 (share of full-time teaching staff), R-SITE-1 (floor area per student)."""
    out = []
    sells = any(course.packages.all() for course in courses)
    if sells and not has_escrow:
        out.append(
            Finding(
                "R-FEE-3",
                HIGH,
                _("机构收取预付费（有收费套餐）但未登记资金监管账户"),
                "escrow",
                INSTITUTION,
                institution.pk,
            )
        )
    if staff:
        share = limits.decimal("fulltime_teaching_staff_min_share")
        fulltime_teachers = sum(1 for m in staff if m.full_time and m.role == StaffMember.StaffRole.TEACHER)
        if share is not None and Decimal(fulltime_teachers) < share * len(staff):
            percent = (share * 100).normalize()
            out.append(
                Finding(
                    "R-STAFF-3",
                    LOW,
                    format_lazy(
                        _("专职教学人员 {fulltime} 人，占从业人员 {staff} 人的比例低于 {percent}%"),
                        fulltime=fulltime_teachers,
                        staff=len(staff),
                        percent=f"{percent:f}",
                    ),
                    "full_time",
                    INSTITUTION,
                    institution.pk,
                )
            )
    area, present = institution.floor_area_m2, institution.max_students_present
    if institution.is_offline and area is not None and present:
        per_student_min = limits.decimal("floor_area_per_student_min")
        if per_student_min is not None and area < per_student_min * present:
            per_student = (area / present).quantize(Decimal("0.01"))
            out.append(
                Finding(
                    "R-SITE-1",
                    MEDIUM,
                    format_lazy(
                        _("场地 {area} m²、同时在校最多 {present} 人，人均 {each} m²，低于 {minimum} m²"),
                        area=area,
                        present=present,
                        each=per_student,
                        minimum=per_student_min,
                    ),
                    "floor_area_m2",
                    INSTITUTION,
                    institution.pk,
                )
            )
    return out


# --- The institution as it stands -------------------------------------------------------------------------------------


def evaluate(institution: Institution, on: date | None = None) -> list[Finding]:
    """Every finding about the institution's records, judged by the rules in force on `on` (default today).

    Courses not on sale (is_active False) and staff who left are not judged. Reads are fixed whatever the size of the
    institution: courses, their packages and slots (3 queries), staff (1), escrow (1), and each policy value needed
    at most once.
    """
    limits = Limits(on)
    courses = list(Course.objects.filter(institution=institution, is_active=True).prefetch_related("packages", "slots"))
    staff = list(StaffMember.objects.filter(institution=institution, is_active=True))
    has_escrow = EscrowAccount.objects.filter(institution=institution).exists()

    findings: list[Finding] = []
    for course in courses:
        findings += course_findings(limits, course)
        for package in course.packages.all():
            findings += package_findings(limits, package, course)
        for slot in course.slots.all():
            findings += slot_findings(limits, slot, course)
    for member in staff:
        findings += staff_findings(institution, member)
    findings += _institution_findings(limits, institution, courses, staff, has_escrow)
    return sort_findings(findings)


# --- A proposed change ------------------------------------------------------------------------------------------------


def _as_int(value):
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None


def _as_decimal(value):
    try:
        return None if value in (None, "") else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _as_time(value):
    if value in (None, "") or isinstance(value, time):
        return value or None
    try:
        hours, minutes = str(value).split(":")[:2]
        return time(int(hours), int(minutes))
    except (TypeError, ValueError):
        return None


def _record(kind: str, values: dict, pk):
    """A change's JSON (changes.as_json: foreign keys as <name>_id, times HH:MM, decimals as strings) as an object
    with the model's attribute names and types."""
    v = values
    if kind == ChangeProposal.Kind.COURSE:
        return SimpleNamespace(
            pk=pk,
            name=v.get("name") or "",
            category=v.get("category"),
            mode=v.get("mode"),
            min_age=_as_int(v.get("min_age")),
            max_age=_as_int(v.get("max_age")),
            grade_range=v.get("grade_range") or "",
            class_minutes=_as_int(v.get("class_minutes")),
        )
    if kind == ChangeProposal.Kind.PACKAGE:
        return SimpleNamespace(
            pk=pk,
            course_id=_as_int(v.get("course_id")),
            name=v.get("name") or "",
            hours=_as_int(v.get("hours")),
            months=_as_int(v.get("months")),
            price=_as_decimal(v.get("price")),
        )
    if kind == ChangeProposal.Kind.SLOT:
        weekday = _as_int(v.get("weekday"))
        return SimpleNamespace(
            pk=pk,
            course_id=_as_int(v.get("course_id")),
            weekday=weekday if weekday is not None and 0 <= weekday <= 6 else None,
            start_time=_as_time(v.get("start_time")),
            end_time=_as_time(v.get("end_time")),
        )
    return SimpleNamespace(
        pk=pk,
        name=v.get("name") or "",
        role=v.get("role"),
        teacher_certificate_no=v.get("teacher_certificate_no") or "",
        competence_proof=v.get("competence_proof") or "",
        in_service_teacher=bool(v.get("in_service_teacher")),
        precheck_result=v.get("precheck_result"),
    )


def _record_findings(institution, kind: str, record, limits: Limits, courses: dict) -> list[Finding]:
    if kind == ChangeProposal.Kind.COURSE:
        return course_findings(limits, record)
    if kind == ChangeProposal.Kind.STAFF:
        return staff_findings(institution, record)
    course_id = record.course_id
    if course_id not in courses:
        courses[course_id] = (
            Course.objects.filter(institution=institution, pk=course_id).first() if course_id is not None else None
        )
    course = courses[course_id]
    if course is None:  # the cleaner has refused it already
        return []
    if kind == ChangeProposal.Kind.PACKAGE:
        return package_findings(limits, record, course)
    return slot_findings(limits, record, course)


# A course's category or mode decides how its packages and slots are judged: the course field a dependent finding
# points at.
_COURSE_FIELD_FOR_RULE = {"R-FEE-2": "category", "R-TIME-1": "category", "R-TIME-2": "mode"}


def _course_dependents_introduced(limits: Limits, current: Course, before, after) -> list[Finding]:
    """A course switched to subject-type or offline makes its existing packages and slots answer to other rules:
    what that would break is introduced by the course change."""
    if before.category == after.category and before.mode == after.mode:
        return []
    out = []
    for package in current.packages.all():
        old = {f.key for f in package_findings(limits, package, before)}
        out += [f for f in package_findings(limits, package, after) if f.key not in old]
    for slot in current.slots.all():
        old = {f.key for f in slot_findings(limits, slot, before)}
        out += [f for f in slot_findings(limits, slot, after) if f.key not in old]
    return [
        Finding(
            f.rule_id,
            f.severity,
            f.text,
            _COURSE_FIELD_FOR_RULE.get(f.rule_id, "category"),
            f.object_type,
            f.object_id,
        )
        for f in out
    ]


def findings_for_change(
    institution, kind: str, action: str, current, after: dict, *, on: date | None = None
) -> list[Finding]:
    """The findings a proposed change would introduce (empty: the change may go ahead).

    `after` is the cleaned record as JSON (changes.as_json); `current` the stored record for an update, None for a
    creation. A deletion introduces nothing. For an update, a finding is introduced when the record did not have it
    before, or when the change sets the field at fault to a new value: a new value must comply, while an untouched
    value that broke a rule made later is reported by `evaluate`, not a reason to refuse an unrelated edit.
    `field` names the input field at fault ("price", "hours", "end_time", …).
    """
    kind, action = str(kind), str(action)
    if action == ChangeProposal.Action.DELETE or kind not in ChangeProposal.Kind.values:
        return []
    limits = Limits(on)
    courses: dict = {}
    pk = getattr(current, "pk", None)
    proposed_record = _record(kind, after, pk)
    proposed = _record_findings(institution, kind, proposed_record, limits, courses)
    if current is None:
        return sort_findings(proposed)

    from .changes import snapshot

    before = snapshot(kind, current)
    before_record = _record(kind, before, pk)
    existing = {f.key for f in _record_findings(institution, kind, before_record, limits, courses)}
    introduced = [f for f in proposed if f.key not in existing or after.get(f.field) != before.get(f.field)]
    if kind == ChangeProposal.Kind.COURSE:
        introduced += _course_dependents_introduced(limits, current, before_record, proposed_record)
    return sort_findings(introduced)
