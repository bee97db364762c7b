"""Web pages of outside-personnel admission (校外人员准入)."""

from django.urls import path

from . import views

urlpatterns = [
    path("afterschool/third-parties", views.third_parties, name="afterschool-third-parties"),
    path("afterschool/admissions/", views.mine, name="afterschool-admissions"),
    path("afterschool/admissions/new/", views.new, name="afterschool-admission-new"),
    path("afterschool/admissions/review/", views.queue, name="afterschool-admission-queue"),
    path("afterschool/admissions/expiring/", views.expiring, name="afterschool-admissions-expiring"),
    path("afterschool/admissions/<int:admission_id>/", views.detail, name="afterschool-admission"),
    path("afterschool/admissions/<int:admission_id>/review", views.review, name="afterschool-admission-review"),
    path(
        "afterschool/admissions/<int:admission_id>/documents/<int:document_id>",
        views.document,
        name="afterschool-admission-document",
    ),
]
