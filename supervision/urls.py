"""Web pages of supervision."""

from django.urls import path

from .complaints import views as complaint_views
from .inspections import views as inspection_views

urlpatterns = [
    path("complaints/", complaint_views.complaint_list, name="complaint-list"),
    path("complaints/statements/", complaint_views.statement_list, name="complaint-statements"),
    path("complaints/new", complaint_views.complaint_new, name="complaint-new"),
    path("complaints/<int:complaint_id>/", complaint_views.complaint_page, name="complaint-page"),
    path(
        "complaints/<int:complaint_id>/photos/<int:photo_id>",
        complaint_views.complaint_photo,
        name="complaint-photo",
    ),
    path(
        "inspections/<int:inspection_id>/photos/<uuid:photo_uuid>",
        inspection_views.visit_photo,
        name="inspection-photo",
    ),
    path(
        "inspections/orders/<int:order_id>/evidence/<uuid:evidence_uuid>",
        inspection_views.order_evidence,
        name="order-evidence",
    ),
    path("inspections/results/", inspection_views.inspection_results, name="inspection-results"),
    path("inspections/visits/", inspection_views.visit_list, name="inspection-visits"),
    path("inspections/orders/", inspection_views.order_list, name="inspection-orders"),
]

# The 12345 outbox for district supervisors (issue 17).
from .complaints.hotline import views as hotline_views  # noqa: E402

urlpatterns += [
    path("hotline/outbox/", hotline_views.outbox, name="hotline-outbox"),
    path("hotline/outbox/<int:event_id>/resend", hotline_views.resend, name="hotline-outbox-resend"),
]
