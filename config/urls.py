from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from core import i18n
from core import views as core_views
from mobile_api.api import api

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("api/v1/", api.urls),
    path("i18n/setlang/", i18n.set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("", include("portal.urls")),
    path("", include("accounts.urls")),
    path("", include("institutions.urls")),
    path("", include("supervision.urls")),
    path("", include("afterschool.urls")),
    path("", include("console.urls")),
    path("", include("inspector_app.urls")),
]

if settings.BENCH_ENDPOINTS:
    from core import bench_views

    urlpatterns += [
        path("bench/bare", bench_views.bench_bare, name="bench-bare"),
        path("bench/bare-insert", bench_views.bench_bare_insert, name="bench-bare-insert"),
    ]

handler404 = "core.views.handler404"
handler500 = "core.views.handler500"

# Open311 GeoReport v2 (issue 17): civic-reporting clients file and follow complaints.
urlpatterns.insert(0, path("open311/v2/", include("supervision.complaints.open311.urls")))
