from django.urls import path

from . import views

urlpatterns = [
    # Printed in every poster's QR code (institutions.verification.VERIFY_PATH): never change this path.
    path("v/<str:token>", views.verify, name="institution-verify"),
    path("registry/", views.registry, name="registry"),
    path("registry/expiring/", views.expiring_list, name="registry-expiring"),
    path("registry/proposals/", views.proposal_list, name="registry-proposals"),
    path("registry/<int:institution_id>/poster.png", views.registry_poster, name="registry-poster"),
]
