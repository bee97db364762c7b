"""/open311/v2/…: each endpoint with an optional `.json` / `.xml` suffix (the spec's style), else ?format=."""

from django.urls import path, re_path

from . import views

SUFFIX = r"(?:\.(?P<fmt>[A-Za-z0-9]{1,10}))?$"

urlpatterns = [
    path("", views.discovery, name="open311-root"),
    re_path(r"^discovery" + SUFFIX, views.discovery, name="open311-discovery"),
    re_path(r"^services" + SUFFIX, views.service_list, name="open311-services"),
    re_path(r"^services/(?P<service_code>[A-Za-z0-9_\-]{1,30})" + SUFFIX, views.service_definition,
            name="open311-service"),
    re_path(r"^requests" + SUFFIX, views.requests_view, name="open311-requests"),
    re_path(r"^requests/(?P<service_request_id>[A-Za-z0-9_\-]{1,40})" + SUFFIX, views.request_detail,
            name="open311-request"),
    re_path(r"^tokens/(?P<token>[A-Za-z0-9\-]{1,64})" + SUFFIX, views.token_detail, name="open311-token"),
]  # fmt: skip
