"""URLs of the fee pages, included by afterschool/urls.py."""

from django.urls import path

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
    path(
        "afterschool/fees/runs/<int:run_id>/<str:what>.xlsx",
        fee_views.school_document,
        name="afterschool-fee-document",
    ),
]
