"""Web pages of supervision."""

from django.urls import path

from . import views, views_inspections

urlpatterns = [
    path("complaints/new", views.complaint_new, name="complaint-new"),
    path("complaints/<int:complaint_id>/", views.complaint_page, name="complaint-page"),
    path("inspections/results/", views_inspections.inspection_results, name="inspection-results"),
]
