"""/app/…: the phone apps. The service worker lives at /app/sw.js so that its scope (/app/) covers both apps."""

from django.urls import path

from . import views

urlpatterns = [
    path("app/sw.js", views.service_worker, name="app-service-worker"),
    path("app/inspector/", views.inspector_shell, name="inspector-app"),
    path("app/inspector/manifest.webmanifest", views.inspector_manifest, name="inspector-app-manifest"),
    path("app/rollcall/", views.rollcall_shell, name="rollcall"),
    path("app/rollcall/manifest.webmanifest", views.rollcall_manifest, name="rollcall-manifest"),
    path("app/device-status", views.device_status, name="app-device-status"),
]
