"""Signing out of the web closes the live-update sockets that session opened (mobile_api.consumers)."""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from core.notifications import push_to_group, web_session_group


@receiver(user_logged_out, dispatch_uid="portal.close_web_sockets")
def close_web_sockets(sender, request, user, **kwargs):
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        push_to_group(web_session_group(key), {"type": "session.revoked"})
