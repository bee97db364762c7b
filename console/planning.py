"""The bureau console's planning pages (see console/apps.py)."""

from django.http import Http404
from django.urls import path


def plan_page(request, plan_id: int):
    raise Http404


urlpatterns: list = [path("console/plans/<int:plan_id>/", plan_page, name="console-plan")]
