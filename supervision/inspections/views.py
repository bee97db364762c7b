"""Web pages of inspections: the public page of published results (一公开), and the lists behind the home's cards
(an inspector's visits, rectification orders), scoped like the API."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_safe

from accounts import scope
from accounts.models import Role
from core.errors import NotFound
from core.http import uploaded_file_response

from . import publication, selectors
from .permissions import access_inspection, access_order

PAGE_SIZE = 100
LIST_PAGE_SIZE = 50


@require_GET
def inspection_results(request):
    rows = list(publication.published_results()[:PAGE_SIZE])
    return render(request, "supervision/inspection_results.html", {"results": publication.results_page(rows)})


VISIT_TITLES = {
    "today": _("今日检查"),
    "week": _("本周检查"),
    "unsubmitted": _("未提交的检查"),
}


@require_safe
def visit_list(request):
    """/inspections/visits/?filter=today|week|unsubmitted: an inspector's own open visits (anyone else: 404)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    name = request.GET.get("filter") or "today"
    qs = selectors.visit_work_list(request.user, name, timezone.localdate()) if name in VISIT_TITLES else None
    if qs is None:
        raise Http404
    page = Paginator(qs, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "supervision/visit_list.html", {"page": page, "filter": name, "title": VISIT_TITLES[name]}
    )


ORDER_TITLES = {
    "to_verify": _("待核验整改"),
    "open": _("待整改通知"),
}


@require_safe
def order_list(request):
    """/inspections/orders/?filter=to_verify|open: rectification orders the user may see (inspectors: from their
    visits; the bureau: its towns; institution staff: their own). Anyone else: 404."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    user = request.user
    if not (scope.is_bureau(user) or scope.has_role(user, Role.INSPECTOR) or scope.institution_ids(user)):
        raise Http404
    default = "open" if scope.institution_ids(user) and not scope.has_role(user, Role.INSPECTOR) else "to_verify"
    name = request.GET.get("filter") or default
    qs = selectors.order_work_list(user, name) if name in ORDER_TITLES else None
    if qs is None:
        raise Http404
    page = Paginator(qs, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "filter": name, "title": ORDER_TITLES[name], "today": timezone.localdate()}
    return render(request, "supervision/order_list.html", context)


# --- Evidence: visit photos and rectification evidence, for whoever may see the visit or the order -------------------


@require_safe
def visit_photo(request, inspection_id: int, photo_uuid):
    """A visit's photo, to whoever may see the inspection (its team, the bureau in scope); 404 otherwise."""
    if not request.user.is_authenticated:
        raise Http404
    try:
        inspection = access_inspection(request.user, inspection_id)
    except NotFound:
        raise Http404 from None
    photo = inspection.photos.filter(uuid=photo_uuid, received=True).exclude(image="").first()
    if photo is None:
        raise Http404
    return uploaded_file_response(
        photo.image.open("rb"), content_type=photo.content_type or "image/jpeg", filename=f"visit-{photo.uuid}.jpg"
    )


@require_safe
def order_evidence(request, order_id: int, evidence_uuid):
    """A photo the institution sent with its answer to a rectification order, to whoever may see the order."""
    if not request.user.is_authenticated:
        raise Http404
    try:
        order = access_order(request.user, order_id)
    except NotFound:
        raise Http404 from None
    evidence = order.evidence.filter(uuid=evidence_uuid).first()
    if evidence is None:
        raise Http404
    return uploaded_file_response(
        evidence.image.open("rb"),
        content_type=evidence.content_type or "image/jpeg",
        filename=f"order-{order.pk}-{evidence.uuid}.jpg",
    )
