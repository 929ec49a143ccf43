"""Pages of this app: sign in, sign out, profile, the audit log (no namespace: settings refer to "login")."""

from django.urls import path

from wangge.accounts import audit_views, views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path("profile/token/", views.token_create, name="token_create"),
    path("profile/token/delete/", views.token_delete, name="token_delete"),
    path("audit/", audit_views.audit_log, name="audit_log"),
]
