"""A Content-Security-Policy on every response: pages, API answers, errors; relaxed only on the API's docs page."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

STRICT = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",  # blob: the phone app's previews of photos it keeps before sending
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
}


def directives(response) -> set[str]:
    header = response.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    return {part.strip() for part in header.split(";") if part.strip()}


def plain_paths(resolver=None, prefix="") -> list[str]:
    """Every address of the site that takes no parameter (so a page added later is covered)."""
    found = []
    for pattern in (resolver or get_resolver()).url_patterns:
        route = str(pattern.pattern)
        if "<" in route or "(?P" in route or route.startswith("^"):
            continue
        if isinstance(pattern, URLResolver):
            found += plain_paths(pattern, prefix + route)
        elif isinstance(pattern, URLPattern):
            found.append("/" + prefix + route)
    return found


@pytest.mark.parametrize("signed_in", [False, True])
def test_every_page_carries_the_strict_policy(client, bureau_admin, signed_in):
    if signed_in:
        assert client.login(username=bureau_admin.username or bureau_admin.phone, password=PASSWORD)
    paths = [p for p in plain_paths() if not p.startswith(("/api/v1/docs", "/static/", "/media/"))]
    assert {"/login/", "/"} <= set(paths) and len(paths) >= 10
    for path in paths + ["/no-such-page/", "/api/v1/no-such-route", "/api/v1/me"]:
        response = client.get(path)
        assert STRICT <= directives(response), path


def test_the_docs_page_alone_allows_inline_styles(client):
    docs = directives(client.get("/api/v1/docs"))
    assert "style-src 'self' 'unsafe-inline'" in docs and "script-src 'self'" in docs
    assert "style-src 'self'" in directives(client.get("/login/"))
    assert "'unsafe-inline'" not in client.get("/api/v1/docs-not-really")["Content-Security-Policy"]
