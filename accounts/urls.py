from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/password-reset/", views.password_reset, name="password-reset"),
    path("accounts/invite/", views.invite, name="invite"),
    path("accounts/invite/<int:invitation_id>/revoke", views.invitation_revoke, name="invitation-revoke"),
    path("accounts/invitation/<str:token>", views.invitation_accept, name="invitation-accept"),
]
