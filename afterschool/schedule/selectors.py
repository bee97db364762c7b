"""Reads of after-school services, already scoped to the caller: parents their own children, teachers their
sessions and classes, school admins their school, bureau staff the schools of their towns."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from accounts import scope
from accounts.models import Role

from .models import Application, School, Student, Term

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
