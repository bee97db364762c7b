"""Outside coaches' own page (校外人员: their account from the web sign-up): their admissions, the sessions they
deliver with the roll call, and their pay statements; and a third party's page (an institution sending coaches):
its people, their admissions and their sessions. Someone with neither answers 404."""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts import scope
from afterschool.admission.models import Admission
from afterschool.fees.models import AllocationLine
from afterschool.schedule.models import WEEKDAY_LABELS, Session
from afterschool.schedule.selectors import sessions_delivered_by
from afterschool.schedule.views import signed_in

ROLL_CALL = "rollcall"  # the teachers' roll-call page (the phone app), by the name agreed with its owner


def rollcall_url(session: Session) -> str:
    """The roll call of a session when the page exists (by session, else the app's start page), else ""."""
    for args in ((session.pk,), ()):
        try:
            return reverse(ROLL_CALL, args=args)
        except NoReverseMatch:
            continue
    return ""


@require_safe
@signed_in
def my_work(request):
    user = request.user
    today = timezone.localdate()
    admissions = list(
        Admission.objects.filter(Q(person__user=user) | Q(applicant=user))
        .select_related("school", "person", "institution")
        .order_by("-created_at")[:30]
    )
    sessions = list(
        sessions_delivered_by(user)
        .filter(last_date__gte=today)
        .select_related("programme", "school", "room")
        .order_by("weekday", "starts_at")[:100]
    )
    lines = list(
        AllocationLine.objects.filter(Q(staff__outside_person__user=user) | Q(staff__user=user))
        .select_related("run__term", "run__school")
        .order_by("-run__created_at")[:30]
    )
    if not admissions and not sessions and not lines:
        # Nothing yet: the page still says how to start (apply for admission).
        pass
    labels = [str(w) for w in WEEKDAY_LABELS]
    return render(
        request,
        "afterschool/family/coach.html",
        {
            "admissions": admissions,
            "sessions": [{"s": s, "day": labels[s.weekday], "rollcall": rollcall_url(s)} for s in sessions],
            "lines": lines,
            "today": today,
        },
    )


@require_safe
@signed_in
def people(request):
    """A third party's staff: the people their institution sends, with each admission and its sessions."""
    institutions = scope.institution_ids(request.user)
    if not institutions:
        raise Http404
    today = timezone.localdate()
    admissions = list(
        Admission.objects.filter(institution_id__in=institutions)
        .select_related("person", "school", "institution")
        .order_by("person__name", "-created_at")[:200]
    )
    counts = {
        (row["staff__outside_person_id"], row["school_id"]): row["n"]
        for row in Session.objects.filter(
            staff__outside_person_id__in={a.person_id for a in admissions}, last_date__gte=today
        )
        .values("staff__outside_person_id", "school_id")
        .annotate(n=Count("id"))
    }
    rows = [{"a": a, "sessions": counts.get((a.person_id, a.school_id), 0)} for a in admissions]
    return render(request, "afterschool/family/people.html", {"rows": rows})
