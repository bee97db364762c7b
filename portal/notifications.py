"""The notification inbox as a page: newest first, paginated, unread marked, each entry leading to its object's page.

The rows are core's inbox (core.notifications, the same the API serves at /api/v1/notifications): opening an entry
marks it read through the same service, then goes to the object's page. Someone else's notification answers 404,
like a missing one. New entries arrive live over /ws/notifications/ (core/static/core/site.js) where the browser
can; the page works fully without it and without JavaScript.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core import notifications as inbox
from core import usercache
from core.csrf import page_token
from core.errors import NotFound

from .render import inbox_rows_html

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


def _page(user, number):
    """A page of the inbox. The first, the one people open, is kept a few seconds with their unread count
    (core.usercache: forgotten as soon as they are notified or mark anything read), so it costs no query."""
    if number not in (None, "", "1"):
        return Paginator(inbox.notifications_for(user), PAGE_SIZE).get_page(number)
    kept = usercache.recall(user.pk, "inbox")
    if kept is None:
        paginator = Paginator(inbox.notifications_for(user), PAGE_SIZE)
        page = paginator.get_page(1)
        rows = [InboxRow(*(getattr(n, f) for f in InboxRow._fields)) for n in page.object_list]
        usercache.remember(user.pk, "inbox", (paginator.count, [tuple(r) for r in rows]))
        return Page(rows, 1, paginator)
    count, rows = kept
    paginator = Paginator((), PAGE_SIZE)  # no queryset to build: the rows and their total are kept
    paginator.count = count
    return Page([InboxRow(*r) for r in rows], 1, paginator)


class InboxRow(NamedTuple):
    """What the inbox page shows of a notification: plain values, cheap to keep and to read back."""

    pk: int
    object_type: str
    object_id: str
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None


@require_safe
@login_required
def notification_list(request):
    page = _page(request.user, request.GET.get("page"))
    open_url = reverse("notification-open", args=[0]).replace("/0/", "/{}/")  # one reverse, not one per row
    rows_html = inbox_rows_html(
        page.object_list, open_url=open_url, object_url=object_url, csrf_token=page_token(request),
        next_path=request.get_full_path(),
    )  # fmt: skip
    return render(request, "portal/notifications.html", {"page": page, "rows_html": rows_html})


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
