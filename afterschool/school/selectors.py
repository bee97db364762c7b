"""Reads of the school admin's scheduling pages that join the schedule with admission (who may teach) and fees (the
attendance gaps): they sit above those packages, so the schedule keeps importing neither."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Role
from afterschool.admission.enforcement import day_to_check
from afterschool.admission.models import Admission
from afterschool.schedule.models import School, SchoolClass, Session, Staff


@dataclass(frozen=True)
class StaffChoice:
    """One person in the staff picker: `value` is what the form sends ("t<user id>" a teacher, "o<person id>" an
    outside person), `label` tells people of the same name apart, `may_teach` whether the picker offers them."""

    value: str
    name: str
    label: str
    kind: str  # "teacher" / "outside"
    status: object  # a label (lazy)
    valid_until: date | None
    may_teach: bool


def staff_choices(school: School, first_date: date, last_date: date) -> list[StaffChoice]:
    """Everyone who could deliver a session of `school` between the two dates: its teachers (and admins) and the
    outside persons with a staff row there, each with their admission status and expiry. Outside persons may teach
    only when admitted to the school on the first day they would teach (the check scheduling makes, R-ASS-2).
    Teachers sharing a display name are told apart by the classes they lead, else by their masked phone. A fixed
    number of queries (four)."""
    members = list(
        Membership.objects.active()
        .filter(school_id=school.pk, role__in=[Role.TEACHER, Role.SCHOOL_ADMIN])
        .select_related("user")
        .order_by("user__name", "user_id")
    )
    users = {}
    for m in members:
        users.setdefault(m.user_id, m.user)
    classes: dict[int, list[str]] = defaultdict(list)
    for c in SchoolClass.objects.filter(school=school, class_teacher_id__in=list(users)).order_by("grade", "number"):
        classes[c.class_teacher_id].append(c.label)
    names = defaultdict(int)
    for u in users.values():
        names[u.name] += 1
    out: list[StaffChoice] = []
    for uid, u in users.items():
        label = u.name
        if names[u.name] > 1:
            label = f"{u.name}（{'、'.join(classes[uid]) if classes.get(uid) else u.masked_phone}）"
        elif classes.get(uid):
            label = f"{u.name}（{'、'.join(classes[uid])}）"
        out.append(StaffChoice(f"t{uid}", u.name, label, "teacher", _("本校教师"), None, True))
    day = day_to_check(first_date, last_date)
    outside = list(
        Staff.objects.filter(school=school, kind=Staff.StaffKind.OUTSIDE)
        .select_related("outside_person")
        .order_by("name", "id")
    )
    latest: dict[int, Admission] = {}
    for a in Admission.objects.filter(
        school=school, person_id__in=[s.outside_person_id for s in outside]
    ).order_by("person_id", "-valid_until", "-created_at", "-id"):
        if a.person_id not in latest or (
            a.status == Admission.Status.ADMITTED and latest[a.person_id].status != Admission.Status.ADMITTED
        ):
            latest[a.person_id] = a
    valid = set(
        Admission.objects.filter(
            school=school,
            person_id__in=[s.outside_person_id for s in outside],
            status=Admission.Status.ADMITTED,
            valid_from__lte=day,
            valid_until__gte=day,
        ).values_list("person_id", flat=True)
    )
    for s in outside:
        a = latest.get(s.outside_person_id)
        status = a.get_status_display() if a else _("未申请准入")
        label = s.name if names[s.name] == 0 else f"{s.name}（{_('校外人员')}）"
        out.append(
            StaffChoice(
                f"o{s.outside_person_id}",
                s.name,
                str(label),
                "outside",
                status,
                a.valid_until if a else None,
                s.outside_person_id in valid,
            )
        )
    return out


def sessions_needing_staff(school: School, term_id: int):
    return (
        Session.objects.filter(school=school, programme__term_id=term_id, needs_staff=True)
        .select_related("programme", "room")
        .order_by("weekday", "starts_at", "id")
    )
