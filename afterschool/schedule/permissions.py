"""`access_*` of the schedule: the school, child or programme asked for, or the same 404 for "missing" and "not
yours", so ids cannot be probed."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.scoping import get_in_scope

from .models import Programme, School, Student
from .selectors import admin_school_ids, children_of, schools_visible_to


def access_school(user, school_id) -> School:
    return get_in_scope(schools_visible_to(user).select_related("town"), school_id, _("学校不存在"))


def access_school_for_admin(user, school_id) -> School:
    """A school the user administers; any other answers 404 (a school they may only read: 404 too, so writes by
    bureau staff or teachers cannot probe ids either)."""
    return get_in_scope(School.objects.filter(pk__in=admin_school_ids(user)), school_id, _("学校不存在"))


def access_child(user, student_id) -> Student:
    return get_in_scope(children_of(user).select_related("school_class", "school"), student_id, _("学生不存在"))


def access_programme_for_admin(user, programme_id) -> Programme:
    qs = Programme.objects.filter(school_id__in=admin_school_ids(user)).select_related("term", "school")
    return get_in_scope(qs, programme_id, _("项目不存在"))
