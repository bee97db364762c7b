"""Django's AuthenticationMiddleware, with the signed-in user of a web session read from accounts.authcache when
it is there: the session's user id and password hash against the kept entry, no query (issue 16: the floor of every
page). On a miss, or a hash that does not match, Django's own check runs and its verdict is kept."""

from __future__ import annotations

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.utils.functional import SimpleLazyObject

from . import authcache


def session_user(request):
    if not hasattr(request, "_cached_user"):
        request._cached_user = _session_user(request)
    return request._cached_user


def _session_user(request):
    session = request.session
    user_id = session.get(auth.SESSION_KEY)
    if user_id is not None and session.get(auth.BACKEND_SESSION_KEY) in settings.AUTHENTICATION_BACKENDS:
        user = authcache.get_web(user_id, session.get(auth.HASH_SESSION_KEY))
        if user is not None:
            return user
    user = auth.get_user(request)
    if user.is_authenticated:
        authcache.put_web(user)
    return user


class CachedAuthenticationMiddleware(AuthenticationMiddleware):
    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: session_user(request))
