"""The parents' pages around the children page, and the school's confirmations of parents' link requests."""

from django.urls import path

from . import coach_views, views

urlpatterns = [
    path("afterschool/children/link/", views.link, name="afterschool-child-link"),
    path("afterschool/children/<int:student_id>/", views.child_page, name="afterschool-child"),
    path("afterschool/children/<int:student_id>/apply/", views.apply, name="afterschool-child-apply"),
    path(
        "afterschool/children/<int:student_id>/windows/<int:window_id>/",
        views.choices,
        name="afterschool-child-choices",
    ),
    path(
        "afterschool/children/<int:student_id>/applications/<int:application_id>/withdraw/",
        views.withdraw,
        name="afterschool-child-withdraw",
    ),
    path("afterschool/children/<int:student_id>/exemption/", views.exemption, name="afterschool-child-exemption"),
    path(
        "afterschool/exemptions/<int:exemption_id>/document",
        views.exemption_document,
        name="afterschool-exemption-document",
    ),
    path("afterschool/link-requests/", views.link_requests, name="afterschool-link-requests"),
    path("afterschool/link-requests/<int:request_id>/decide", views.link_decide, name="afterschool-link-decide"),
    path("afterschool/coach/", coach_views.my_work, name="afterschool-coach"),
    path("afterschool/coach/people/", coach_views.people, name="afterschool-coach-people"),
]
