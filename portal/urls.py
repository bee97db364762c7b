"""The front door's pages: each role's home and the notification inbox."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
]
