"""The bureau's registry at work under load (`make bench BENCH_ARGS="--only console_registry"`): bureau staff of the
district, signed in with a web session, read /console/registry/ over the seeded registry (--institutions, 20,000 by
default) with filters: one page of 20 with the effective status, open complaints and open/overdue orders of each row.
Goal (issue 18): at least 0.3 of the bare view."""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project's packages first
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.run import Endpoint  # noqa: E402

USERNAME = "bench-console-staff"

ENDPOINTS = [
    Endpoint("GET /console/registry/ (page of 20)", "/console/registry/", {"Cookie": "{console_cookie}"}, goal=0.3),
    Endpoint(
        "GET /console/registry/ filtered (town, status, risk, sort)",
        "/console/registry/?town={console_town}&status=licensed&category=arts&sort=risk",
        {"Cookie": "{console_cookie}"},
        goal=0.3,
    ),
    Endpoint(
        "GET /console/registry/ search + orders (q=xdf, orders=open)",
        "/console/registry/?q=xdf&orders=open",
        {"Cookie": "{console_cookie}"},
        goal=0.3,
    ),
]


def setup() -> dict[str, str]:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from accounts.models import Membership, Region, Role, User

    district = Region.objects.filter(parent__isnull=True).order_by("code").first()
    town = Region.objects.filter(parent__isnull=False, valid_to__isnull=True).order_by("code").first()
    user = User.objects.filter(username=USERNAME).first()
    if user is None:
        user = User.objects.create_user(username=USERNAME, phone=None, name="压测科员", password=None)
        Membership.objects.create(user=user, role=Role.BUREAU_STAFF, region=district)
    # Pages name their static files through the manifest (DEBUG off): gunicorn needs it written first.
    call_command("collectstatic", interactive=False, verbosity=0)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return {"console_cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}", "console_town": str(town.pk)}
