"""Who may do what with the registry: the checks the API and the web pages call, built on `accounts.scope` (the
rows an actor may read are in selectors: `institutions_listable_by`, `access_institution_record`)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from accounts import scope
from accounts.models import Role
from core.errors import NotFound

from .models import Institution
from .selectors import BUREAU_ROLES, EDITOR_ROLES


def supervises(user) -> bool:
    """Holds a bureau role (inspectors included) somewhere: sees risk grades and may record unlicensed operators."""
    return scope.has_role(user, *BUREAU_ROLES)


def sees_records(user) -> bool:
    """May open full records at all (those of their towns, or of their own institution)."""
    return scope.has_role(user, *BUREAU_ROLES, Role.INSTITUTION_STAFF)


def require_may_record_unlicensed(user) -> None:
    """Over the API only the bureau's roles record an unlicensed operator; others get the registry's 404."""
    if not supervises(user):
        raise NotFound(_("机构不存在"))


def edits_directly(user, institution: Institution) -> bool:
    """Bureau staff and admins of the institution's town change it at once; anyone else proposes a change."""
    return scope.covers_town(user, institution.town_id, *EDITOR_ROLES)
