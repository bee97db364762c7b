"""The desk's "open an inspection" button: an ad-hoc visit from a substantiated complaint (plans.inspection_open_adhoc).

Here rather than in complaints/desk.py: inspections build on complaints, never the reverse (import-linter)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import DomainError

from ..complaints import desk
from .plans import inspection_open_adhoc


@require_POST
def open_from_complaint(request, complaint_id: int):
    """POST /desk/complaints/<id>/inspection with the inspectors chosen: the visit is opened and linked; a refusal
    shows the complaint's page again with the message."""
    if (response := desk._signed_in_bureau(request)) is not None:
        return response
    c = desk._visible(request, complaint_id)
    inspector_ids = [int(v) for v in request.POST.getlist("inspector_ids") if v.isdigit() and len(v) < 12]
    try:
        inspection_open_adhoc(actor=request.user, inspector_ids=inspector_ids, complaint_id=c.pk)
    except DomainError as exc:
        context = desk._complaint_context(
            request, c.pk, message=exc.message(), errors=exc.field_messages(), open_form="open_inspection"
        )
        return desk.render(request, "supervision/desk/complaint.html", context, status=min(exc.status, 499))
    except Http404:
        raise
    return redirect(f"{reverse('desk-complaint', args=(c.pk,))}?done=inspection")
