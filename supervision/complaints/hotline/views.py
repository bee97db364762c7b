"""/hotline/outbox/: the events reported back to 12345, for district supervisors (bureau admins) of the towns of
their complaints; failed ones first, each with a resend button. Anyone else: 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST, require_safe

from accounts.models import Role
from accounts.scope import has_role, town_ids
from core.errors import DomainError

from . import services
from .models import HotlineEvent, OutboxState

PAGE_SIZE = 25
FILTERS = {
    "failed": (_("发送失败"), [OutboxState.FAILED]),
    "pending": (_("待发送"), [OutboxState.PENDING, OutboxState.SENDING]),
    "delivered": (_("已送达"), [OutboxState.DELIVERED]),
}


def _events_of(user):
    if not has_role(user, Role.BUREAU_ADMIN):
        raise Http404
    return HotlineEvent.objects.filter(order__complaint__town_id__in=town_ids(user, Role.BUREAU_ADMIN))


@require_safe
def outbox(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    events = _events_of(request.user)
    name = request.GET.get("filter") or "failed"
    if name not in FILTERS:
        raise Http404
    label, states = FILTERS[name]
    qs = (
        events.filter(state__in=states)
        .select_related("order__system", "order__complaint")
        .order_by("-created_at", "-id")
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filter": name,
        "title": _("12345 回传"),
        "tabs": [(key, text) for key, (text, _states) in FILTERS.items()],
        "current": label,
        "max_attempts": services.max_attempts(),
    }
    return render(request, "supervision/hotline_outbox.html", context)


@require_POST
def resend(request, event_id: int):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    event = _events_of(request.user).filter(pk=event_id).first()
    if event is None:
        raise Http404
    try:
        services.event_resend(actor=request.user, event_pk=event.pk)
    except DomainError as exc:
        messages.error(request, exc.message())
    else:
        messages.success(request, _("已重新发送工单 %(number)s 的事件") % {"number": event.order.order_number})
    return redirect(reverse("hotline-outbox") + "?filter=failed")
