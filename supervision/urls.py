"""Web pages of supervision."""

from django.urls import path

from .complaints import views as complaint_views
from .inspections import views as inspection_views

urlpatterns = [
    path("complaints/new", complaint_views.complaint_new, name="complaint-new"),
    path("complaints/<int:complaint_id>/", complaint_views.complaint_page, name="complaint-page"),
    path("inspections/results/", inspection_views.inspection_results, name="inspection-results"),
]
