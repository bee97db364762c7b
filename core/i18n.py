"""One language at a time: Chinese by default, English by a switch (pages) or Accept-Language (the API).

LocaleMiddleware (after sessions) reads the language cookie set by the switch, then Accept-Language. This
middleware, after authentication, then decides for two cases:
- the API (/api/): the language is chosen from Accept-Language exactly as the API always has
  (core.errors.preferred_language: English only when it is the caller's first choice), never from a cookie;
- a signed-in person who chose a language with the switch: that choice, on every device they sign in on.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponseRedirect
from django.utils import translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from .errors import django_language, preferred_language

API_PREFIX = "/api/"


class LanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = None
        if request.path.startswith(API_PREFIX):
            language = django_language(preferred_language(request.META.get("HTTP_ACCEPT_LANGUAGE")))
        else:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and getattr(user, "language", ""):
                language = user.language
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


@require_POST
def set_language(request):
    """Django's set_language (cookie, safe `next`), and the choice remembered on the signed-in user."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if (
        isinstance(response, HttpResponseRedirect)
        and language in dict(settings.LANGUAGES)
        and request.user.is_authenticated
        and request.user.language != language
    ):
        request.user.language = language
        request.user.save(update_fields=["language"])
    return response
