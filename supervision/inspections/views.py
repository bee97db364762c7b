"""Web pages of inspections: the public page of published results (一公开), and the lists behind the home's cards
(an inspector's visits, rectification orders), scoped like the API."""

from __future__ import annotations

import hashlib
import uuid

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_safe

from accounts import scope
from accounts.models import Role
from core.errors import DomainError, NotFound
from core.http import uploaded_file_response

from . import publication, rectification, selectors
from .models import OrderStatus, RectificationOrder
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


# --- One rectification order: institution staff answer it with text and photos (issue 17) ---------------------------

RESPONSE_MAX = 4000
EVIDENCE_MAX_PHOTOS = 9
EVIDENCE_NAMESPACE = uuid.UUID("6f1c8e0e-5d3a-4c55-9a57-0b8c3c2f1d17")


def _order_context(request, order, *, error="", errors=None, values=None) -> dict:
    user = request.user
    return {
        "o": order,
        "evidence": list(order.evidence.all()),
        "can_answer": order.status == OrderStatus.OPEN and order.institution_id in scope.institution_ids(user),
        "overdue": rectification.is_overdue(order),
        "error": error,
        "errors": errors or {},
        "values": values or {},
        "max_photos": EVIDENCE_MAX_PHOTOS,
        "done": request.GET.get("done") == "answered",
    }


def _order(request, order_id: int):
    try:
        order = access_order(request.user, order_id)
    except NotFound:
        raise Http404 from None
    return (
        RectificationOrder.objects.select_related("institution", "finding", "finding__inspection")
        .prefetch_related("evidence")
        .get(pk=order.pk)
    )


@require_http_methods(["GET", "POST"])
def order_page(request, order_id: int):
    """/inspections/orders/<id>/: the order (the problem found, what to rectify, by when) and, once answered, the
    institution's account with its photos; its institution's staff answer it here while it is open: the photos go
    through the same checks as the API's uploads (core.uploads: content, size, pixels, EXIF removed), then
    order_respond names them. Anyone who may not see the order: 404."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    order = _order(request, order_id)
    if request.method == "GET":
        return render(request, "supervision/order.html", _order_context(request, order))
    response = request.POST.get("response", "").strip()
    photos = request.FILES.getlist("photos")
    values = {"response": response}
    errors = {}
    if not response:
        errors["response"] = _("请填写整改情况")
    elif len(response) > RESPONSE_MAX:
        errors["response"] = _("整改情况不超过 %(max)s 字") % {"max": RESPONSE_MAX}
    if len(photos) > EVIDENCE_MAX_PHOTOS:
        n = {"max": EVIDENCE_MAX_PHOTOS, "n": len(photos)}
        errors["photos"] = _("最多上传 %(max)s 张照片（现为 %(n)s 张）") % n
    if errors:
        context = _order_context(request, order, errors=errors, values=values)
        return render(request, "supervision/order.html", context, status=422)
    try:
        uuids = []
        for i, upload in enumerate(photos):
            content = upload.read()
            digest = hashlib.sha256(content).hexdigest()
            upload.seek(0)
            # The same photo sent again (a double tap, a retry after an error) is the same evidence, not a copy.
            key = uuid.uuid5(EVIDENCE_NAMESPACE, f"{order.pk}:{digest}")
            try:
                rectification.evidence_upload(
                    actor=request.user, order_id=order.pk, photo_uuid=str(key), sha256=digest, upload=upload
                )
            except DomainError as exc:
                if exc.status == 404:
                    raise
                exc.text = format_lazy(_("第 {n} 张照片：{message}"), n=i + 1, message=exc.text)
                exc.fields = {"photos": exc.text}
                raise
            uuids.append(str(key))
        rectification.order_respond(actor=request.user, order_id=order.pk, response=response, photo_uuids=uuids)
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        fresh = _order(request, order.pk)
        errors = {"photos": exc.message()} if "photos" in exc.fields else {}
        context = _order_context(request, fresh, error=exc.message(), errors=errors, values=values)
        return render(request, "supervision/order.html", context, status=exc.status if exc.status < 500 else 503)
    return redirect(f"{reverse('inspection-order', args=(order.pk,))}?done=answered")


# --- One visit, read-only, for its team and the bureau (issue 17: its photos viewable) ------------------------------


@require_safe
def visit_page(request, inspection_id: int):
    """/inspections/<id>/: a visit as recorded (institution, state, times, findings with their orders, photos) for
    its inspectors and the bureau of its town; recording stays on the phone app. Anyone else: 404."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        visit = access_inspection(request.user, inspection_id)
    except NotFound:
        raise Http404 from None
    findings = list(visit.findings.select_related("order").order_by("id"))
    photos = list(visit.photos.filter(received=True).exclude(image="").order_by("received_at", "id"))
    return render(request, "supervision/visit.html", {"v": visit, "findings": findings, "photos": photos})


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
