"""The notification inbox page under load (`make bench BENCH_ARGS="--only inbox_page"`): a parent with 200
notifications, signed in with a web session, reads /notifications/ (the frame: menu and unread count, a page of 20).
Goal (issue 16): at least 0.3 of the bare view."""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project's packages first
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.run import Endpoint  # noqa: E402

PHONE = "13899990301"
NOTIFICATIONS = 200

ENDPOINTS = [
    Endpoint("GET /notifications/ (web page, 200 rows)", "/notifications/", {"Cookie": "{inbox_cookie}"}, goal=0.3),
]


def setup() -> dict[str, str]:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import Membership, Role, User
    from core.models import Notification

    user = User.objects.filter(phone=PHONE).first()
    if user is None:
        user = User.objects.create_user(username=None, phone=PHONE, name="压测家长", password=None)
        Membership.objects.create(user=user, role=Role.PARENT)
    missing = NOTIFICATIONS - Notification.objects.filter(recipient=user).count()
    if missing > 0:
        Notification.objects.bulk_create(
            Notification(recipient=user, kind="bench", title=f"压测通知 {i}", body="内容") for i in range(missing)
        )
    # Pages name their static files through the manifest (DEBUG off): gunicorn needs it written first.
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return {"inbox_cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}"}
