"""The phone apps' shells, manifests and service worker (see apps.py).

The shells hold no personal data: the same HTML for everyone (in the request's language), so the service worker may
keep it and open the app with no network; the data comes from /api/v1 with the phone's tokens and is kept in the
phone's IndexedDB. The service worker's version is a hash of what it caches: a new release is a new worker, which the
app announces ("新版本可用") and takes only between visits.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from core.policy import policy_int

from .device import session_wiped
from .strings import strings

# What the shells load (static paths); the service worker caches all of it on install.
SHARED_ASSETS = (
    "inspector_app/app.css",
    "vendor/dexie/dexie.min.js",
    "inspector_app/outbox.js",
    "inspector_app/icon-192.png",
)
INSPECTOR_ASSETS = (
    "vendor/leaflet/leaflet.css",
    "vendor/leaflet/leaflet.js",
    "inspector_app/inspector.js",
)
ROLLCALL_ASSETS = ("inspector_app/rollcall.js",)
# Loaded only when needed (not on the first load), but kept by the service worker on install so they work offline:
# the QR decoder, for the scan button where the browser has no BarcodeDetector.
LAZY_ASSETS = ("vendor/jsqr/jsQR.js",)
TEMPLATES = ("inspector_app/inspector.html", "inspector_app/rollcall.html", "inspector_app/sw.js")


@lru_cache(maxsize=1)
def app_version() -> str:
    """A hash of the assets and templates the apps are made of: changes with every release that changes them."""
    from django.template.loader import get_template

    digest = hashlib.sha256()
    for name in (*SHARED_ASSETS, *INSPECTOR_ASSETS, *ROLLCALL_ASSETS, *LAZY_ASSETS):
        found = finders.find(name)
        if found:
            with open(found, "rb") as fh:
                digest.update(fh.read())
    for name in TEMPLATES:
        digest.update(get_template(name).template.source.encode())
    digest.update(settings.MAP_TILE_URL.encode())
    return digest.hexdigest()[:12]


def _shell(request, template: str, app: str, assets: tuple[str, ...]):
    context = {
        "app": app,
        "version": app_version(),
        "sw_url": reverse("app-service-worker"),
        "config": {
            "app": app,
            "api": "/api/v1/",
            "version": app_version(),
            "sw": reverse("app-service-worker"),
            "scope": "/app/",
            "deviceStatus": reverse("app-device-status"),
            "home": reverse("home"),
            "tileUrl": settings.MAP_TILE_URL,
            "tileAttribution": settings.MAP_TILE_ATTRIBUTION,
            "lang": get_language() or "zh-hans",
            "flagDistance": policy_int("checkin_distance_flag_m"),
            "qrDecoder": static(LAZY_ASSETS[0]),
        },
        "strings": strings(),
        "assets": assets,
    }
    response = render(request, template, context)
    response["Cache-Control"] = "no-cache"  # the service worker keeps its own copy; the network copy is revalidated
    return response


@require_safe
def inspector_shell(request):
    return _shell(request, "inspector_app/inspector.html", "inspector", INSPECTOR_ASSETS)


@require_safe
def rollcall_shell(request):
    return _shell(request, "inspector_app/rollcall.html", "rollcall", ROLLCALL_ASSETS)


def _manifest(name: str, short_name: str, start_url: str, description: str) -> HttpResponse:
    body = {
        "name": name,
        "short_name": short_name,
        "description": description,
        "start_url": start_url,
        "scope": start_url,
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#1d4ed8",
        "lang": "zh-CN",
        "icons": [
            {"src": static("inspector_app/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("inspector_app/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("inspector_app/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = HttpResponse(json.dumps(body, ensure_ascii=False), content_type="application/manifest+json")
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
def inspector_manifest(request):
    return _manifest(_("双减检查"), _("双减检查"), reverse("inspector-app"), _("检查人员的离线检查应用"))


@require_safe
def rollcall_manifest(request):
    return _manifest(_("课后服务点名"), _("点名"), reverse("rollcall"), _("老师的离线点名应用"))


@never_cache
@require_safe
def service_worker(request):
    """Same origin, at /app/ so its scope covers both apps; never cached by HTTP, so an update is found at once."""
    shells = [reverse("inspector-app"), reverse("rollcall")]
    assets = [static(a) for a in (*SHARED_ASSETS, *INSPECTOR_ASSETS, *ROLLCALL_ASSETS, *LAZY_ASSETS)]
    assets += [reverse("inspector-app-manifest"), reverse("rollcall-manifest")]
    response = render(
        request,
        "inspector_app/sw.js",
        {"version": app_version(), "shells": json.dumps(shells), "assets": json.dumps(assets)},
        content_type="application/javascript; charset=utf-8",
    )
    return response


@csrf_exempt  # no cookie is read: the refresh token in the body is the credential, and only its holder has it
@require_POST
def device_status(request):
    """POST {"refresh_token": …} → {"wipe": true} when the bureau cut this phone's session as a lost phone."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return HttpResponseBadRequest()
    token = body.get("refresh_token") if isinstance(body, dict) else None
    return JsonResponse({"wipe": session_wiped(token)})
