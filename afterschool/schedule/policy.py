"""R-ASS-1 ("5 + 2"): after-school service on every school day, at least 2 hours a day, ending no earlier than the
local office closing time, and never new lessons or drilling. Values are dated policy values (core.policy), read
on the term's first day so a term is judged by the rule of its day.

`schedule_report` is pure (no queries): the API check of one school and the bureau's coverage of many schools feed
it with data loaded in a fixed number of queries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, time

from django.db.models import Prefetch, Q
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from afterschool.schedule.staffing import lapsing_sessions
from core.policy import MissingPolicyValue, policy_int, policy_time
from core.workdays import WorkingCalendar

from .models import FORBIDDEN_KINDS, WEEKDAY_LABELS, Kind, Programme, School, Session, Term, TermDay
from .selectors import current_term, participation

RULE = "R-ASS-1"


@dataclass(frozen=True)
class Rules:
    days_per_week: int
    hours_per_day: int
    end_not_before: time

    @classmethod
    def on(cls, day: date) -> Rules:
        try:
            return cls(
                policy_int("service_days_per_week_min", day),
                policy_int("service_hours_per_day_min", day),
                policy_time("service_end_not_before", day),
            )
        except MissingPolicyValue:
            return cls(5, 2, time(17, 30))


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _covered_minutes(slots: list[tuple[time, time]]) -> int:
    """Minutes covered by the union of the slots (two rooms at the same hour do not make two hours)."""
    total, end = 0, -1
    for a, b in sorted((_minutes(s), _minutes(e)) for s, e in slots):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


def school_days_of(term: Term, overrides: dict[date, int | None], calendar: WorkingCalendar) -> dict[date, int]:
    from datetime import timedelta

    days: dict[date, int] = {}
    d = term.starts_on
    while d <= term.ends_on:
        if d in overrides:
            if overrides[d] is not None:
                days[d] = overrides[d]
        elif calendar.is_working_day(d):
            days[d] = d.weekday() if d.weekday() < 5 else 0
        d += timedelta(days=1)
    return days


def _finding(code: str, message, **extra) -> dict:
    """`message`: one gettext_lazy message, rendered in the reader's language (core.errors.render)."""
    return {"rule": RULE, "code": code, "message": message, **extra}


def schedule_report(
    term: Term, school_days: dict[date, int], sessions: list[Session], programmes: list[Programme], rules: Rules
) -> dict:
    by_weekday: dict[int, list[Session]] = defaultdict(list)
    for s in sessions:
        by_weekday[s.weekday].append(s)
    per_day: dict[date, tuple[int, time | None]] = {}
    for d, w in school_days.items():
        active = [(s.starts_at, s.ends_at) for s in by_weekday.get(w, ()) if s.first_date <= d <= s.last_date]
        per_day[d] = (_covered_minutes(active), max((e for _, e in active), default=None))

    need_minutes = rules.hours_per_day * 60
    findings: list[dict] = []
    grouped: dict[tuple[str, int], list[date]] = defaultdict(list)
    for d, (minutes, end) in sorted(per_day.items()):
        w = school_days[d]
        if minutes == 0:
            grouped[("no_service", w)].append(d)
            continue
        if minutes < need_minutes:
            grouped[("too_short", w)].append(d)
        if end is not None and end < rules.end_not_before:
            grouped[("ends_too_early", w)].append(d)
    for (code, w), dates in sorted(grouped.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        day = WEEKDAY_LABELS[w]
        n, first = len(dates), dates[0]
        sample = per_day[first]
        if code == "no_service":
            message = format_lazy(_("{day}没有课后服务（{n} 个上学日，如 {first}）"), day=day, n=n, first=first)
        elif code == "too_short":
            message = format_lazy(
                _("{day}课后服务仅 {minutes} 分钟，少于 {hours} 小时（{n} 个上学日）"),
                day=day,
                minutes=sample[0],
                hours=rules.hours_per_day,
                n=n,
            )
        else:
            message = format_lazy(
                _("{day}课后服务 {end} 结束，早于下班时间 {closing}（{n} 个上学日）"),
                day=day,
                end=f"{sample[1]:%H:%M}",
                closing=f"{rules.end_not_before:%H:%M}",
                n=n,
            )
        findings.append(_finding(code, message, weekday=w, days=n, first_date=first))
    for p in programmes:
        if p.kind in FORBIDDEN_KINDS:
            findings.append(
                _finding(
                    "forbidden_kind",
                    format_lazy(
                        _("项目“{name}”属于{kind}，课后服务不得讲授新课或集体补课"),
                        name=p.name,
                        kind=Kind(p.kind).label,
                    ),
                    programme_id=p.pk,
                )
            )

    weekdays = []
    served_weekdays = 0
    for w in range(5):
        days_w = [d for d, wd in school_days.items() if wd == w]
        if not days_w:
            continue
        minutes = min(per_day[d][0] for d in days_w)
        ends = [per_day[d][1] for d in days_w if per_day[d][1] is not None]
        if minutes > 0:
            served_weekdays += 1
        weekdays.append(
            {
                "weekday": w,
                "label": str(WEEKDAY_LABELS[w]),
                "minutes": minutes,
                "ends_at": min(ends) if ends else None,
                "ok": minutes >= need_minutes and bool(ends) and min(ends) >= rules.end_not_before,
            }
        )
    if served_weekdays < rules.days_per_week and not any(f["code"] == "no_service" for f in findings):
        findings.append(
            _finding(
                "days_per_week",
                format_lazy(
                    _("每周仅 {served_weekdays} 天有课后服务，应不少于 {days_per_week} 天"),
                    served_weekdays=served_weekdays,
                    days_per_week=rules.days_per_week,
                ),
            )
        )
    return {
        "rule": RULE,
        "ok": not findings,
        "policy": {
            "days_per_week": rules.days_per_week,
            "hours_per_day": rules.hours_per_day,
            "end_not_before": rules.end_not_before,
        },
        "school_days": len(school_days),
        "days_with_service": sum(1 for m, _ in per_day.values() if m > 0),
        "days_per_week": served_weekdays,
        "weekdays": weekdays,
        "findings": findings,
    }


def _load(schools: list[School], on: date) -> dict[int, dict]:
    """Everything the report needs for many schools: a fixed number of queries whatever their size."""
    school_ids = [s.pk for s in schools]
    terms_by_school: dict[int, list[Term]] = defaultdict(list)
    for t in Term.objects.filter(school_id__in=school_ids).prefetch_related(
        Prefetch("days", queryset=TermDay.objects.all())
    ):
        terms_by_school[t.school_id].append(t)
    chosen: dict[int, Term] = {}
    for sid, terms in terms_by_school.items():
        running = [t for t in terms if t.starts_on <= on <= t.ends_on]
        coming = sorted((t for t in terms if t.starts_on > on), key=lambda t: t.starts_on)
        past = sorted(terms, key=lambda t: t.ends_on, reverse=True)
        chosen[sid] = (running or coming or past)[0]
    term_ids = [t.pk for t in chosen.values()]
    sessions: dict[int, list[Session]] = defaultdict(list)
    for s in Session.objects.filter(programme__term_id__in=term_ids).only(
        "id", "programme_id", "school_id", "weekday", "starts_at", "ends_at", "first_date", "last_date"
    ):
        sessions[s.school_id].append(s)
    programmes: dict[int, list[Programme]] = defaultdict(list)
    for p in Programme.objects.filter(term_id__in=term_ids).only("id", "school_id", "name", "kind"):
        programmes[p.school_id].append(p)
    return {"terms": chosen, "sessions": sessions, "programmes": programmes}


def school_schedule_check(school: School, on: date, term: Term | None = None) -> dict:
    if term is None:
        term = current_term(school, on)
    if term is None:
        return {
            "rule": RULE,
            "ok": False,
            "term": None,
            "findings": [_finding("no_term", _("尚未设置学期"))],
        }
    return coverage([school], on, terms={school.pk: term})[0]


def staffing_findings(term_ids: list[int], on: date) -> dict[int, list[dict]]:
    """R-ASS-2 per school: sessions still to run whose outside person's admission lapses within the term (or who is
    not admitted), and sessions left without staff. Two queries whatever the number of schools."""
    sessions = list(
        Session.objects.filter(programme__term_id__in=term_ids, last_date__gte=on)
        .filter(Q(staff__kind="outside") | Q(needs_staff=True))
        .select_related("staff", "programme")
        .order_by("weekday", "starts_at", "id")
    )
    out: dict[int, list[dict]] = defaultdict(list)
    for row in lapsing_sessions(sessions):
        s, until = row["session"], row["valid_until"]
        lapse = format_lazy(_("于 {until} 到期"), until=until) if until else _("已失效")
        out[s.school_id].append(
            {
                **_finding(
                    "admission_lapses",
                    format_lazy(
                        _("“{name}”{weekday}的校外人员{person}准入{lapse}，早于课时结束 {last_date}"),
                        name=s.programme.name,
                        weekday=WEEKDAY_LABELS[s.weekday],
                        person=row["person"],
                        lapse=lapse,
                        last_date=s.last_date,
                    ),
                    weekday=s.weekday,
                    programme_id=s.programme_id,
                    first_date=until,
                ),
                "rule": "R-ASS-2",
            }
        )
    for s in sessions:
        if s.needs_staff and s.staff_id is None:
            out[s.school_id].append(
                {
                    **_finding(
                        "needs_staff",
                        format_lazy(
                            _("“{name}”{weekday}待安排授课人员（自 {first_date}）"),
                            name=s.programme.name,
                            weekday=WEEKDAY_LABELS[s.weekday],
                            first_date=s.first_date,
                        ),
                        weekday=s.weekday,
                        programme_id=s.programme_id,
                        first_date=s.first_date,
                    ),
                    "rule": "R-ASS-2",
                }
            )
    return out


def coverage(schools: list[School], on: date, terms: dict[int, Term] | None = None) -> list[dict]:
    """One report per school (R-ASS-1 findings, days per week, hours per day, participation, and the R-ASS-2 staffing
    findings: outside persons whose admission lapses within the term, sessions that need staff)."""
    data = _load(schools, on)
    if terms:
        data["terms"].update(terms)
    counts = participation([s.pk for s in schools], on)
    staffing_of = staffing_findings([t.pk for t in data["terms"].values()], on)
    calendar = WorkingCalendar()
    rules_on: dict[date, Rules] = {}  # terms mostly start on the same day: three queries per distinct day
    out = []
    for school in schools:
        term = data["terms"].get(school.pk)
        enrolled, students = counts.get(school.pk, (0, 0))
        base = {
            "school": school,
            "students": students,
            "enrolled": enrolled,
            "participation_rate": round(enrolled / students, 4) if students else None,
        }
        if term is None:
            out.append(
                {
                    **base,
                    "rule": RULE,
                    "ok": False,
                    "term": None,
                    "findings": [_finding("no_term", _("尚未设置学期"))],
                    "weekdays": [],
                    "sessions": 0,
                }
            )
            continue
        if term.starts_on not in rules_on:
            rules_on[term.starts_on] = Rules.on(term.starts_on)
        overrides = {d.date: d.follows_weekday for d in term.days.all()}
        days = school_days_of(term, overrides, calendar)
        sessions = [
            s
            for s in data["sessions"].get(school.pk, [])
            if s.programme_id in {p.pk for p in data["programmes"].get(school.pk, [])}
        ]
        report = schedule_report(term, days, sessions, data["programmes"].get(school.pk, []), rules_on[term.starts_on])
        staffing = staffing_of.get(school.pk, [])
        if staffing:
            report = {**report, "ok": False, "findings": [*report["findings"], *staffing]}
        out.append({**base, **report, "term": term, "sessions": len(sessions)})
    return out
