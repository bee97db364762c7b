from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from .render import sections_html
from .selectors import home_sections


@require_safe
@login_required
def home(request):
    """Each role's home: one section per role the user holds, with the work waiting as cards with counts (a fixed
    number of queries whatever the data: portal.selectors)."""
    now = timezone.localtime()
    sections = home_sections(request.user, now.date(), now.time())
    return render(
        request,
        "portal/home.html",
        {"sections": sections, "sections_html": sections_html(sections)},
    )
