"""What the current request says about itself, for audit rows written deep inside services."""

from contextvars import ContextVar

from django.conf import settings

current_ip: ContextVar[str | None] = ContextVar("current_ip", default=None)


def client_ip(request) -> str | None:
    # Behind the production proxy the client address arrives in X-Real-IP, set by nginx; trusted only when
    # the deployment says a proxy sets it, otherwise a client could choose its own address.
    if getattr(settings, "USE_X_REAL_IP", False):
        real = request.META.get("HTTP_X_REAL_IP")
        if real:
            return real.strip()
    return request.META.get("REMOTE_ADDR")
