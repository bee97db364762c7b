"""The front door's pages: each role's home and the notification inbox."""

from django.urls import path

from . import notifications, views

urlpatterns = [
    path("", views.home, name="home"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/read-all", notifications.notification_read_all, name="notifications-read-all"),
    path("notifications/<int:notification_id>/open", notifications.notification_open, name="notification-open"),
]
