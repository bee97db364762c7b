"""One masked CSRF token for all of a page's forms: each `get_token()` (and each `{% csrf_token %}`) masks the
secret anew with 32 random characters, a measurable cost on a page with a form per row."""

from __future__ import annotations

from django.middleware.csrf import get_token


def page_token(request) -> str:
    token = getattr(request, "_page_csrf_token", None)
    if token is None:
        token = request._page_csrf_token = get_token(request)
    return token
