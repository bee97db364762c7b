"""The school admin's scheduling pages: /afterschool/school/<school id>/…"""

from django.urls import path

from . import pages

P = "afterschool/school/<int:school_id>/"

urlpatterns = [
    path(P, pages.home, name="school-home"),
    path(P + "terms/", pages.terms, name="school-terms"),
    path(P + "rooms/", pages.rooms, name="school-rooms"),
    path(P + "students/", pages.students, name="school-students"),
    path(P + "students/import/", pages.students_import, name="school-students-import"),
    path(P + "students/new/", pages.student_edit, name="school-student-new"),
    path(P + "students/<int:student_id>/", pages.student_edit, name="school-student"),
    path(P + "programmes/", pages.programmes, name="school-programmes"),
    path(P + "programmes/<int:programme_id>/", pages.programme_edit, name="school-programme"),
    path(P + "terms/<int:term_id>/timetable/", pages.timetable_edit, name="school-timetable-edit"),
    path(P + "terms/<int:term_id>/timetable/check/", pages.timetable_check, name="school-timetable-check"),
    path(P + "sessions/<int:session_id>/delete/", pages.session_delete, name="school-session-delete"),
    path(P + "sessions/<int:session_id>/staff/", pages.session_staff, name="school-session-staff"),
    path(P + "windows/", pages.windows, name="school-windows"),
    path(P + "windows/<int:window_id>/", pages.window_detail, name="school-window"),
    path(P + "applications/", pages.applications, name="school-applications"),
    path(P + "applications/<int:application_id>/decide/", pages.application_decide, name="school-application-decide"),
    path(P + "rosters/", pages.rosters, name="school-rosters"),
    path(P + "gaps/", pages.gaps, name="school-gaps"),
]
