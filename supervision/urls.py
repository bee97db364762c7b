"""Web pages of supervision."""

from django.urls import path

from .complaints import desk
from .complaints import views as complaint_views
from .inspections import from_complaint
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
    # The handler's desk and the supervisor's board (complaints/desk.py).
    path("desk/", desk.queue, name="desk-queue"),
    path("desk/complaints/<int:complaint_id>/", desk.complaint, name="desk-complaint"),
    path("desk/complaints/<int:complaint_id>/contact", desk.reveal, name="desk-contact"),
    path("desk/complaints/<int:complaint_id>/inspection", from_complaint.open_from_complaint, name="desk-inspection"),
    path("desk/complaints/<int:complaint_id>/<slug:action>", desk.act, name="desk-act"),
    path("desk/board/", desk.board, name="desk-board"),
    path("desk/board.xlsx", desk.board_xlsx, name="desk-board-xlsx"),
    path("desk/templates/", desk.answer_templates, name="desk-templates"),
    path("inspections/results/", inspection_views.inspection_results, name="inspection-results"),
    path("inspections/visits/", inspection_views.visit_list, name="inspection-visits"),
    path("inspections/orders/", inspection_views.order_list, name="inspection-orders"),
    path("complaints/<int:complaint_id>/messages", complaint_views.complaint_message, name="complaint-message"),
    path(
        "complaints/<int:complaint_id>/supplement", complaint_views.complaint_supplement, name="complaint-supplement"
    ),
    path("complaints/<int:complaint_id>/rate", complaint_views.complaint_rate, name="complaint-rate"),
    path("complaints/<int:complaint_id>/reopen", complaint_views.complaint_reopen, name="complaint-reopen"),
    path("complaints/statements/<int:request_id>/", complaint_views.statement_page, name="complaint-statement"),
    path(
        "complaints/statements/<int:request_id>/evidence/<int:evidence_id>",
        complaint_views.statement_evidence,
        name="statement-evidence",
    ),
    path("inspections/orders/<int:order_id>/", inspection_views.order_page, name="inspection-order"),
    path("inspections/<int:inspection_id>/", inspection_views.visit_page, name="inspection-visit"),
]

# The 12345 outbox for district supervisors (issue 17).
from .complaints.hotline import views as hotline_views  # noqa: E402

urlpatterns += [
    path("hotline/outbox/", hotline_views.outbox, name="hotline-outbox"),
    path("hotline/outbox/<int:event_id>/resend", hotline_views.resend, name="hotline-outbox-resend"),
]
