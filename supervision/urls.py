"""Web pages of supervision."""

from django.urls import path

from . import views

urlpatterns = [
    path("complaints/new", views.complaint_new, name="complaint-new"),
    path("complaints/<int:complaint_id>/", views.complaint_page, name="complaint-page"),
]
