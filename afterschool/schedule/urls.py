"""Web pages of the schedule: the parents' and the schools' after-school pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("afterschool/", views.index, name="afterschool-index"),
    path("afterschool/coverage/", views.coverage, name="afterschool-coverage"),
    path("afterschool/sessions/", views.session_list, name="afterschool-sessions"),
    path("afterschool/applications/", views.application_list, name="afterschool-applications"),
    path("afterschool/schools/<int:school_id>/timetable/", views.timetable, name="afterschool-timetable"),
    path("afterschool/programmes/<int:programme_id>/roster/", views.roster, name="afterschool-roster"),
    path("afterschool/programmes/<int:programme_id>/roster.xlsx", views.roster_xlsx, name="afterschool-roster-xlsx"),
    path("afterschool/sessions/<int:session_id>/sign-in/", views.sign_in_sheet, name="afterschool-sign-in"),
]
