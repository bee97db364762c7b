"""Calendar care (the bureau console): the bureau enters a year's official holidays and make-up working days (调休)
once the State Council publishes them, because the calendar package stops at the last notice it knows. Until a year
is entered, every figure counting working days in it is provisional (core.workdays.is_provisional), and the bureau is
told once, when the first term of such a year is created (`term_created`, connected in console/apps.py).
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts import scope
from accounts.models import Role
from core import workdays
from core.errors import DomainError
from core.models import CalendarDay
from core.notifications import notify

HOLIDAY_WORDS = {"休", "假", "holiday", "h", CalendarDay.Kind.HOLIDAY}
WORKDAY_WORDS = {"班", "补班", "workday", "w", CalendarDay.Kind.WORKDAY}


def parse_days(text: str) -> tuple[list[tuple[date, str, str]], list[str]]:
    """Lines "2027-01-01 休 元旦" or "2027-02-07 班 春节调休" → entries, and a message per bad line (with its
    number)."""
    entries, errors = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        try:
            day = date.fromisoformat(parts[0])
        except ValueError:
            errors.append(_("第 %(n)s 行：日期应为 YYYY-MM-DD") % {"n": number})
            continue
        word = parts[1].lower() if len(parts) > 1 else ""
        if word in HOLIDAY_WORDS:
            kind = CalendarDay.Kind.HOLIDAY
        elif word in WORKDAY_WORDS:
            kind = CalendarDay.Kind.WORKDAY
        else:
            errors.append(_("第 %(n)s 行：类型应为“休”或“班”") % {"n": number})
            continue
        entries.append((day, kind, parts[2].strip() if len(parts) > 2 else ""))
    return entries, errors


def _year(request) -> int:
    raw = (request.GET.get("year") or request.POST.get("year") or "").strip()
    this = timezone.localdate().year
    if not raw:
        return this + 1 if workdays.official_data_for(this) else this
    if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
        raise Http404
    return int(raw)


@require_http_methods(["GET", "HEAD", "POST"])
def calendar_page(request):
    """/console/calendar/?year=: the bureau's table for a year; POST replaces it (bureau staff and admins)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not scope.is_bureau(request.user):
        raise Http404
    year = _year(request)
    text = ""
    errors: list[str] = []
    if request.method == "POST":
        text = request.POST.get("days", "")[:20000]
        entries, errors = parse_days(text)
        if not errors:
            try:
                n = workdays.calendar_year_enter(actor=request.user, year=year, entries=entries)
            except DomainError as e:
                errors = [f"{e.message()}{(' ' + ', '.join(map(str, e.fields.values()))) if e.fields else ''}"]
            else:
                return redirect(f"{reverse('console-calendar')}?year={year}&saved={n}")
    days = list(CalendarDay.objects.filter(date__year=year).order_by("date"))
    if not text:
        text = "\n".join(f"{d.date.isoformat()} {'休' if d.kind == CalendarDay.Kind.HOLIDAY else '班'} {d.name}".strip()
                         for d in days)  # fmt: skip
    this = timezone.localdate().year
    years = [
        {"year": y, "official": workdays.official_data_for(y), "entered": workdays.year_entered(y)}
        for y in range(this - 1, this + 3)
    ]
    context = {
        "year": year,
        "days": days,
        "text": text,
        "errors": errors,
        "years": years,
        "official": workdays.official_data_for(year),
        "provisional": workdays.is_provisional(date(year, 1, 1)),
        "saved": (request.GET.get("saved") or "")[:5] if request.method != "POST" else "",
    }
    return render(request, "console/calendar.html", context, status=422 if errors else 200)


# --- Telling the bureau when a term starts in a year not entered ---------------------------------------------------


def term_created(sender, instance, created, **kwargs):
    """post_save of afterschool's Term: the first term touching a provisional year tells the district's bureau, once
    per year (the notification's dedupe key)."""
    if not created or kwargs.get("raw"):
        return
    for year in workdays.provisional_years(instance.starts_on, instance.ends_on):
        recipients = _district_bureau(instance.school.town_id)
        if recipients:
            notify(
                recipients=recipients,
                kind="calendar.year_missing",
                title=_("请录入 %(year)s 年节假日安排") % {"year": year},
                body=_(
                    "已有学期（%(term)s）进入 %(year)s 年，但该年的法定节假日和调休尚未录入，按工作日计算的数字为暂定。"
                ) % {"term": instance.name, "year": year},
                payload={"year": year, "url": f"{reverse('console-calendar')}?year={year}"},
                dedupe_key=f"calendar-year-missing-{year}",
            )


def _district_bureau(town_id: int | None) -> list[int]:
    if not town_id:
        return []
    return scope.users_covering_town(town_id, Role.BUREAU_ADMIN, Role.BUREAU_STAFF)


urlpatterns = [path("console/calendar/", calendar_page, name="console-calendar")]
