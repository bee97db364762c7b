from django.urls import path

from . import views

urlpatterns = [
    # Printed in every poster's QR code (institutions.verification.VERIFY_PATH): never change this path.
    path("v/<str:token>", views.verify, name="institution-verify"),
]
