"""`access_*` of the schedule: the school, child or programme asked for, or the same 404 for "missing" and "not
yours", so ids cannot be probed."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts import scope
from accounts.models import Role
from core.errors import NotFound
from core.scoping import get_in_scope

from .models import ChoiceWindow, Programme, School, Session, Student
from .selectors import children_of, schools_visible_to


def access_school(user, school_id) -> School:
    return get_in_scope(schools_visible_to(user).select_related("town"), school_id, _("学校不存在"))


def access_school_for_admin(user, school_id) -> School:
    """A school the user administers; any other answers 404 (a school they may only read: 404 too, so writes by
    bureau staff or teachers cannot probe ids either)."""
    return get_in_scope(
        School.objects.filter(pk__in=scope.school_ids(user, Role.SCHOOL_ADMIN)), school_id, _("学校不存在")
    )


def access_child(user, student_id) -> Student:
    return get_in_scope(children_of(user).select_related("school_class", "school"), student_id, _("学生不存在"))


def access_programme_for_admin(user, programme_id) -> Programme:
    qs = Programme.objects.filter(school_id__in=scope.school_ids(user, Role.SCHOOL_ADMIN)).select_related(
        "term", "school"
    )
    return get_in_scope(qs, programme_id, _("项目不存在"))


def is_school_admin(user, school_id) -> bool:
    return school_id in scope.school_ids(user, Role.SCHOOL_ADMIN)


def require_school_staff(user, school_id) -> None:
    """The school's own staff (admins, teachers) only: the bureau sees counts, never minors' names or the staff
    list. Anyone else gets the school's 404."""
    if school_id not in scope.school_ids(user):
        raise NotFound(_("学校不存在"))


def access_session_for_admin(user, session_id) -> Session:
    qs = Session.objects.filter(school_id__in=scope.school_ids(user, Role.SCHOOL_ADMIN))
    return get_in_scope(qs, session_id, _("课时不存在"))


def access_window(user, window_id) -> ChoiceWindow:
    """A choice window of a school the user works at or one of their children attends."""
    schools = scope.school_ids(user) | set(children_of(user).values_list("school_id", flat=True))
    return get_in_scope(ChoiceWindow.objects.filter(school_id__in=schools), window_id, _("志愿填报不存在"))


def access_window_for_admin(user, window_id) -> ChoiceWindow:
    qs = ChoiceWindow.objects.filter(school_id__in=scope.school_ids(user, Role.SCHOOL_ADMIN))
    return get_in_scope(qs, window_id, _("志愿填报不存在"))


def access_programme_roster(user, programme_id) -> Programme:
    """Rosters name minors: the school's admins, and teachers who deliver one of the programme's sessions (the bureau
    sees counts on the coverage page)."""
    mine = Q(school_id__in=scope.school_ids(user, Role.SCHOOL_ADMIN)) | Q(
        school_id__in=scope.school_ids(user), sessions__staff__user=user
    )
    found = Programme.objects.filter(mine, pk=programme_id).select_related("term", "school").distinct().first()
    if found is None:
        raise NotFound(_("项目不存在"))
    return found


def access_session_of_staff(user, session_id) -> Session:
    """A session of a school the user administers, or one they deliver (its sign-in sheet)."""
    found = (
        Session.objects.filter(
            Q(school_id__in=scope.school_ids(user, Role.SCHOOL_ADMIN))
            | Q(school_id__in=scope.school_ids(user), staff__user=user),
            pk=session_id,
        )
        .select_related("programme__term", "room", "staff")
        .first()
    )
    if found is None:
        raise NotFound(_("课时不存在"))
    return found
