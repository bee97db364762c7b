"""URLs of the fee pages, included by afterschool/urls.py."""

from django.urls import path

from . import pages as fee_pages
from . import views as fee_views

urlpatterns = [
    path("afterschool/children/", fee_views.my_children, name="afterschool-my-children"),
    path("afterschool/fees/", fee_views.terms, name="afterschool-fees"),
    path("afterschool/fees/runs/<int:run_id>/", fee_views.run_page, name="afterschool-fee-run"),
    path(
        "afterschool/fees/runs/<int:run_id>/statements/<int:staff_id>.<str:fmt>",
        fee_views.statement,
        name="afterschool-fee-statement",
    ),
    path("afterschool/fees/terms/<int:term_id>/", fee_pages.term_page, name="afterschool-fee-term"),
    path("afterschool/fees/terms/<int:term_id>/bills/", fee_pages.bills_page, name="afterschool-fee-bills"),
    path("afterschool/fees/terms/<int:term_id>/<slug:action>", fee_pages.term_action, name="afterschool-fee-action"),
    path("afterschool/fees/approvals/", fee_pages.approvals, name="afterschool-fee-approvals"),
    path(
        "afterschool/fees/runs/<int:run_id>/<str:what>.xlsx",
        fee_views.school_document,
        name="afterschool-fee-document",
    ),
    path("afterschool/fees/runs/<int:run_id>/<slug:step>", fee_pages.run_step, name="afterschool-fee-run-step"),
]
