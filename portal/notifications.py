"""The notification inbox as a page: newest first, paginated, unread marked, each entry leading to its object's page.

The rows are core's inbox (core.notifications, the same the API serves at /api/v1/notifications): opening an entry
marks it read through the same service, then goes to the object's page. Someone else's notification answers 404,
like a missing one. New entries arrive live over /ws/notifications/ (core/static/core/site.js) where the browser
can; the page works fully without it and without JavaScript.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core import notifications as inbox
from core.errors import NotFound

PAGE_SIZE = 20

# The web page of each kind of object a notification may point at: (url name, whether it takes the object's id).
# Objects without a page of their own yet lead nowhere (the entry is shown without a link).
OBJECT_PAGES: dict[str, tuple[str, bool]] = {
    "supervision.complaint": ("complaint-page", True),
    "afterschool.admission": ("afterschool-admission", True),
    "afterschool.allocationrun": ("afterschool-fee-run", True),
    "afterschool.application": ("afterschool-my-children", False),
    "afterschool.attendance": ("afterschool-my-children", False),
    "institutions.institution": ("registry", False),
}


def object_url(object_type: str, object_id: str) -> str | None:
    """The page of a notification's object, or None where it has none."""
    page = OBJECT_PAGES.get(object_type)
    if page is None:
        return None
    url_name, with_id = page
    try:
        return reverse(url_name, args=[int(object_id)]) if with_id else reverse(url_name)
    except (NoReverseMatch, ValueError, TypeError):
        return None


@require_safe
@login_required
def notification_list(request):
    page = Paginator(inbox.notifications_for(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    open_url = reverse("notification-open", args=[0]).replace("/0/", "/{}/")  # one reverse, not one per row
    rows = []
    for n in page.object_list:
        at = timezone.localtime(n.created_at)
        rows.append(
            {
                "n": n,
                "url": object_url(n.object_type, n.object_id),
                "open": open_url.format(n.pk),
                "iso": at.isoformat(timespec="seconds"),
                "when": at.strftime("%Y-%m-%d %H:%M"),
            }
        )
    return render(request, "portal/notifications.html", {"page": page, "rows": rows})


@require_http_methods(["GET", "POST"])
@login_required
def notification_open(request, notification_id: int):
    """Opening an entry marks it read and goes to its object's page (or back to the inbox, where it has none)."""
    try:
        n = inbox.notification_mark_read(actor=request.user, notification_id=notification_id)
    except NotFound:
        raise Http404 from None
    target = object_url(n.object_type, n.object_id)
    if target is None:
        back = request.POST.get("next") or request.GET.get("next") or ""
        if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            return redirect(f"{back}#n{n.pk}")
        return redirect(f"{reverse('notifications')}#n{n.pk}")
    return redirect(target)


@require_POST
@login_required
def notification_read_all(request):
    inbox.notification_mark_all_read(actor=request.user)
    return redirect("notifications")
