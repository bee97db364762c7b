"""Web pages of afterschool."""

from django.urls import path

from . import admission_views, views

urlpatterns = [
    path("afterschool/", views.index, name="afterschool-index"),
    path("afterschool/children/", views.my_children, name="afterschool-my-children"),
    path("afterschool/coverage/", views.coverage, name="afterschool-coverage"),
    path("afterschool/schools/<int:school_id>/timetable/", views.timetable, name="afterschool-timetable"),
    path("afterschool/programmes/<int:programme_id>/roster/", views.roster, name="afterschool-roster"),
    path("afterschool/programmes/<int:programme_id>/roster.xlsx", views.roster_xlsx, name="afterschool-roster-xlsx"),
    path("afterschool/third-parties", views.third_parties, name="afterschool-third-parties"),
    path("afterschool/sessions/<int:session_id>/sign-in/", views.sign_in_sheet, name="afterschool-sign-in"),
    # Outside-personnel admission (校外人员准入)
    path("afterschool/admissions/", admission_views.mine, name="afterschool-admissions"),
    path("afterschool/admissions/new/", admission_views.new, name="afterschool-admission-new"),
    path("afterschool/admissions/review/", admission_views.queue, name="afterschool-admission-queue"),
    path("afterschool/admissions/<int:admission_id>/", admission_views.detail, name="afterschool-admission"),
    path(
        "afterschool/admissions/<int:admission_id>/review", admission_views.review, name="afterschool-admission-review"
    ),
    path(
        "afterschool/admissions/<int:admission_id>/documents/<int:document_id>",
        admission_views.document,
        name="afterschool-admission-document",
    ),
]

# Fees and their allocation (课后服务费)
from .fee_urls import urlpatterns as _fee_urlpatterns  # noqa: E402

urlpatterns += _fee_urlpatterns
